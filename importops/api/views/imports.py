"""Bulk user import and operation endpoints (SPEC section 5)."""

from __future__ import annotations

from typing import Any

from django.db.models.functions import Coalesce, Greatest
from rest_framework.request import Request
from rest_framework.response import Response

from importops.api.base import APIView, ok
from importops.api.permissions import ViewImportOperations
from importops.api.serializers import operation_json
from importops.api.validation import Invalid, boolean, clean_object, one_of, string, validate
from importops.importers import registry
from importops.models import ImportOperation
from importops.models.operation import ExistingUsers, UndoMode
from importops.services import operations, preview, running, staging, undo
from importops.states import State


def validate_users(body: Any) -> list[dict[str, Any]]:
    """``{"users": [...]}`` strictly; unknown per-user keys dropped, any other top-level key refused."""
    problems: list[str] = []
    cleaned = clean_object(
        body,
        {"users": lambda v: None if isinstance(v, list) else "must be an array"},
        required=("users",),
        problems=problems,
    )
    users = []
    for index, user in enumerate(cleaned.get("users", [])):
        users.append(clean_object(user, staging.USER_FIELDS, path=f"users[{index}]", unknown="drop", problems=problems))
    if problems:
        raise Invalid(problems)
    return users


class NewView(APIView):
    def post(self, request: Request) -> Response:
        operation = operations.operation_create(
            user=request.user, importer_key=registry.API.key, importer_name=registry.API.name
        )
        return ok({"operation": operation_json(operation)})


class StatusView(APIView):
    def get(self, request: Request) -> Response:
        operation = operations.operation_latest()
        if operation is None:
            return ok({"state": State.NONE.value})
        return ok({"state": operation.state.value, "operation": operation_json(operation)})


class AddUsersView(APIView):
    def post(self, request: Request) -> Response:
        users = validate_users(self.body(request))
        staging.users_add(user=request.user, users=users)
        return ok()


#: The existing-user policy of a run (an extension): import.preview, import.run, startImport.
POLICY_FIELDS = {"existingUsers": one_of(*ExistingUsers.values), "updatePasswords": boolean}


def optional_body(view: APIView, request: Request) -> Any:
    """The body of an endpoint Rocket.Chat calls without one: read only when it is non-empty
    JSON (clients that send nothing, or an empty form, keep working)."""
    is_json = request.content_type.split(";")[0].strip().endswith("json")
    if not is_json or request.META.get("CONTENT_LENGTH") in (None, "", "0"):
        return {}
    return view.body(request)


def policy_arguments(body: dict[str, Any]) -> dict[str, Any]:
    """Service keyword arguments from a validated body holding POLICY_FIELDS."""
    return {
        "existing_users": body.get("existingUsers", ExistingUsers.FAIL),
        "update_passwords": body.get("updatePasswords", False),
    }


class PreviewView(APIView):
    def post(self, request: Request) -> Response:
        body = validate(optional_body(self, request), POLICY_FIELDS)
        return ok(preview.users_preview(**policy_arguments(body)))


class RunView(APIView):
    def post(self, request: Request) -> Response:
        body = validate(optional_body(self, request), POLICY_FIELDS)
        running.run_start(user=request.user, **policy_arguments(body))
        return ok()


class UndoView(APIView):
    def post(self, request: Request) -> Response:
        body = validate(
            self.body(request),
            {"operationId": string, "mode": one_of(*UndoMode.values)},
            required=("operationId",),
        )
        undo.undo_start(user=request.user, operation_id=body["operationId"], mode=body.get("mode", UndoMode.DELETE))
        return ok()


class ClearView(APIView):
    def post(self, request: Request) -> Response:
        operations.operations_clear(user=request.user)
        return ok()


class CurrentOperationView(APIView):
    def get(self, request: Request) -> Response:
        operation = operations.operation_latest()
        return ok({"operation": operation_json(operation)} if operation else {})


class LatestOperationsView(APIView):
    permission_classes = [ViewImportOperations]

    def get(self, request: Request) -> Response:
        changed = Greatest("updated_at", Coalesce("progressed_at", "updated_at"))
        latest = ImportOperation.objects.with_progress().order_by(changed.desc(), "-ts")[:20]
        return Response([operation_json(operation) for operation in latest])


class ImportersListView(APIView):
    def get(self, request: Request) -> Response:
        return Response([{"key": i.key, "name": i.name} for i in registry.listed()])
