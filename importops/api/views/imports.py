"""Bulk user import and operation endpoints (SPEC section 5)."""

from __future__ import annotations

from django.db.models.functions import Coalesce, Greatest
from rest_framework.request import Request
from rest_framework.response import Response

from importops.api.base import APIView, ok
from importops.api.permissions import ViewImportOperations
from importops.api.serializers import operation_json
from importops.importers import registry
from importops.models import ImportOperation
from importops.services import operations, preview, running, staging
from importops.states import State
from importops.tasks import enqueue
from importops.validation import validate_users


class NewView(APIView):
    def post(self, request: Request) -> Response:
        operation = operations.operation_create(
            user=request.user, importer_key=registry.API.key, importer_name=registry.API.name
        )
        return ok({"operation": operation_json(operation)})


class StatusView(APIView):
    def get(self, request: Request) -> Response:
        operation = ImportOperation.objects.current()
        if operation is None:
            return ok({"state": State.NONE.value})
        return ok({"state": operation.state.value, "operation": operation_json(operation)})


class AddUsersView(APIView):
    def post(self, request: Request) -> Response:
        users = validate_users(self.body(request))
        staging.users_add(user=request.user, users=users)
        return ok()


class PreviewView(APIView):
    def post(self, request: Request) -> Response:
        return ok(preview.users_preview())


class RunView(APIView):
    def post(self, request: Request) -> Response:
        enqueue(running.run_start(user=request.user))
        return ok()


class ClearView(APIView):
    def post(self, request: Request) -> Response:
        operations.operations_clear(user=request.user)
        return ok()


class CurrentOperationView(APIView):
    def get(self, request: Request) -> Response:
        operation = ImportOperation.objects.current()
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
