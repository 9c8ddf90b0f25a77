"""Bulk user import and operation endpoints (docs/api.md: "Bulk user import", "Operations")."""

from __future__ import annotations

from typing import Any

from django.db.models.functions import Coalesce, Greatest
from rest_framework.request import Request
from rest_framework.response import Response

from importops.api.base import APIView, ok
from importops.api.permissions import ViewImportOperations
from importops.api.schema import INTEGER, STATES, STRING, endpoint, ref, success
from importops.api.serializers import operation_json
from importops.importers import registry
from importops.models import ImportOperation
from importops.services import operations, preview, running, staging, undo
from importops.states import State
from importops.tasks import enqueue
from importops.validation import validate_policy, validate_undo, validate_users


class NewView(APIView):
    @endpoint("import.new", success(operation=ref("Operation")), summary="Start a new operation (stops every other)")
    def post(self, request: Request) -> Response:
        operation = operations.operation_create(
            user=request.user, importer_key=registry.API.key, importer_name=registry.API.name
        )
        return ok({"operation": operation_json(operation)})


class StatusView(APIView):
    @endpoint(
        "import.status",
        success(optional=("operation",), state=STATES, operation=ref("Operation")),
        summary="The state of the latest operation",
    )
    def get(self, request: Request) -> Response:
        operation = ImportOperation.objects.current()
        if operation is None:
            return ok({"state": State.NONE.value})
        return ok({"state": operation.state.value, "operation": operation_json(operation)})


class AddUsersView(APIView):
    @endpoint(
        "import.addUsers",
        ref("Success"),
        summary="Stage users, all or nothing",
        request={
            "type": "object",
            "properties": {"users": {"type": "array", "items": ref("ImportUser")}},
            "required": ["users"],
            "additionalProperties": False,
        },
        rules=True,
    )
    def post(self, request: Request) -> Response:
        users = validate_users(self.body(request))
        staging.users_add(user=request.user, users=users)
        return ok()


def optional_body(view: APIView, request: Request) -> Any:
    """The body of an endpoint Rocket.Chat calls without one: read only when it is non-empty
    JSON (clients that send nothing, or an empty form, keep working)."""
    is_json = request.content_type.split(";")[0].strip().endswith("json")
    if not is_json or request.META.get("CONTENT_LENGTH") in (None, "", "0"):
        return {}
    return view.body(request)


class PreviewView(APIView):
    @endpoint(
        "import.preview",
        success(
            wouldCreate=INTEGER,
            wouldUpdate=INTEGER,
            wouldSkip=INTEGER,
            unchanged=INTEGER,
            wouldFail={"type": "object", "additionalProperties": INTEGER},
            samples={
                "type": "array",
                "items": {"type": "object", "properties": {"importId": {}, "email": {}, "code": {"type": "string"}}},
            },
            updates={"type": "array", "items": {"type": "object"}},
        ),
        summary="What a run would do, writing nothing",
        request=ref("Policy"),
        rules=True,
    )
    def post(self, request: Request) -> Response:
        return ok(preview.users_preview(**validate_policy(optional_body(self, request))))


class RunView(APIView):
    @endpoint(
        "import.run", ref("Success"), summary="Queue the run of the staged users", request=ref("Policy"), rules=True
    )
    def post(self, request: Request) -> Response:
        policy = validate_policy(optional_body(self, request))
        enqueue(running.run_start(user=request.user, **policy))
        return ok()


class UndoView(APIView):
    @endpoint(
        "import.undo",
        ref("Success"),
        summary="Queue the undo of a finished import (run-import and abort on that operation)",
        request={
            "type": "object",
            "properties": {"operationId": STRING, "mode": {"type": "string", "enum": ["delete", "deactivate"]}},
            "required": ["operationId"],
            "additionalProperties": False,
        },
    )
    def post(self, request: Request) -> Response:
        body = validate_undo(self.body(request))
        enqueue(undo.undo_start(user=request.user, **body))
        return ok()


class ClearView(APIView):
    @endpoint("import.clear", ref("Success"), summary="Stop and invalidate every operation, empty staging")
    def post(self, request: Request) -> Response:
        operations.operations_clear(user=request.user)
        return ok()


class CurrentOperationView(APIView):
    @endpoint(
        "getCurrentImportOperation",
        success(optional=("operation",), operation=ref("Operation")),
        summary="The latest operation (absent when none)",
    )
    def get(self, request: Request) -> Response:
        operation = ImportOperation.objects.current()
        return ok({"operation": operation_json(operation)} if operation else {})


class LatestOperationsView(APIView):
    permission_classes = [ViewImportOperations]

    @endpoint(
        "getLatestImportOperations",
        {"type": "array", "maxItems": 20, "items": ref("Operation")},
        summary="Up to 20 operations, newest change first (view-import-operations)",
    )
    def get(self, request: Request) -> Response:
        changed = Greatest("updated_at", Coalesce("progressed_at", "updated_at"))
        latest = ImportOperation.objects.with_progress().order_by(changed.desc(), "-ts")[:20]
        return Response([operation_json(operation) for operation in latest])


class ImportersListView(APIView):
    @endpoint(
        "importers.list",
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"key": {"type": "string"}, "name": {"type": "string"}},
                "required": ["key", "name"],
            },
        },
        summary="The file importers",
    )
    def get(self, request: Request) -> Response:
        return Response([{"key": i.key, "name": i.name} for i in registry.listed()])
