"""File importer endpoints (docs/api.md, "File importers"; Rocket.Chat 3.0.0)."""

from __future__ import annotations

import base64
import binascii
import io
from typing import Any

from drf_spectacular.utils import OpenApiParameter
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from importops.api.base import APIView, LimitedJSONParser, ok, upload_body_limit
from importops.api.schema import INTEGER, STRING, endpoint, ref, success
from importops.api.serializers import file_users_json, progress_json
from importops.errors import FileOperationNotFound, Invalid
from importops.models import ImportOperation
from importops.services import intake, selection
from importops.tasks import enqueue
from importops.validation import string, validate, validate_selection

UPLOAD_FIELDS = {"binaryContent": string, "contentType": string, "fileName": string, "importerKey": string}


class UploadImportFileView(APIView):
    parser_classes = [LimitedJSONParser, MultiPartParser]

    def body_limit(self) -> int:
        return upload_body_limit()  # the limit that matters is MAX_UPLOAD_SIZE

    @endpoint(
        "uploadImportFile",
        ref("Success"),
        summary="Upload an import file (replaces the current operation); parsed in the background",
        request={
            "application/json": {
                "type": "object",
                "properties": {
                    "binaryContent": {"type": "string", "description": "base64, or a data: URL"},
                    "contentType": STRING,
                    "fileName": STRING,
                    "importerKey": STRING,
                },
                "required": list(UPLOAD_FIELDS),
                "additionalProperties": False,
            },
            "multipart/form-data": {
                "type": "object",
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "importerKey": STRING,
                    "fileName": STRING,
                    "contentType": STRING,
                },
                "required": ["file", "importerKey"],
            },
        },
    )
    def post(self, request: Request) -> Response:
        if request.content_type.startswith("multipart/"):
            form = request.POST  # the parsed form fields (request.data would mix in the files)
            upload = request.FILES.get("file")
            key = form.get("importerKey")
            if upload is None or not key:
                missing = [("file", upload is None), ("importerKey", not key)]
                raise Invalid([f"{name}: is required" for name, absent in missing if absent])
            content: Any = upload
            name = form.get("fileName") or upload.name or ""
            content_type = form.get("contentType") or upload.content_type or ""
        else:
            body = validate(self.body(request), UPLOAD_FIELDS, required=tuple(UPLOAD_FIELDS))
            key, name, content_type = body["importerKey"], body["fileName"], body["contentType"]
            data = body["binaryContent"]
            if ";base64," in data[:200]:  # a data: URL, as browsers produce
                data = data.split(";base64,", 1)[1]
            intake.file_importer(key)  # an unknown importer is refused before decoding
            try:
                content = io.BytesIO(base64.b64decode(data, validate=True))
            except (binascii.Error, ValueError) as exc:
                raise Invalid([f"binaryContent: not valid base64 ({exc})"]) from exc
        enqueue(
            intake.file_upload(
                user=request.user, importer_key=key, file_name=name, content_type=content_type, content=content
            )
        )
        return ok()


class DownloadPublicImportFileView(APIView):
    @endpoint(
        "downloadPublicImportFile",
        ref("Success"),
        summary="Fetch an import file from an allowed URL (as an upload)",
        request={
            "type": "object",
            "properties": {"fileUrl": STRING, "importerKey": STRING},
            "required": ["fileUrl", "importerKey"],
            "additionalProperties": False,
        },
    )
    def post(self, request: Request) -> Response:
        body = validate(
            self.body(request), {"fileUrl": string, "importerKey": string}, required=("fileUrl", "importerKey")
        )
        enqueue(intake.file_download(user=request.user, importer_key=body["importerKey"], url=body["fileUrl"]))
        return ok()


MAX_QUERY_DIGITS = 9


def _non_negative(request: Request, name: str, problems: list[str]) -> int | None:
    given = request.query_params.getlist(name)
    if not given:
        return None
    raw = given[-1]
    if len(given) > 1:
        problems.append(f"{name}: must be given once")
    # ASCII digits only: str.isdigit() also accepts "²" and "٣", which int() refuses or reads.
    elif not (raw.isascii() and raw.isdigit()) or len(raw) > MAX_QUERY_DIGITS:
        problems.append(f"{name}: must be a non-negative integer of at most {MAX_QUERY_DIGITS} digits")
    else:
        return int(raw)
    return None


class GetImportFileDataView(APIView):
    @endpoint(
        "getImportFileData",
        success(
            optional=("waiting", "name", "users", "channels", "message_count", "total", "truncated"),
            waiting={"type": "boolean"},
            name=STRING,
            users={
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "user_id": STRING,
                        "username": STRING,
                        "email": STRING,
                        "is_deleted": {"type": "boolean"},
                        "is_bot": {"type": "boolean"},
                        "do_import": {"type": "boolean"},
                        "is_email_taken": {"type": "boolean"},
                    },
                },
            },
            channels={"type": "array", "items": {"type": "object"}},
            message_count=INTEGER,
            total=INTEGER,
            truncated={"type": "boolean"},
        ),
        summary="The parsed file's users (`waiting` while parsing); no side effects",
        rules=True,
        parameters=[
            OpenApiParameter("offset", int, description="first user (extension)"),
            OpenApiParameter("count", int, description="users to return (extension)"),
        ],
    )
    def get(self, request: Request) -> Response:
        problems: list[str] = []
        offset = _non_negative(request, "offset", problems)
        count = _non_negative(request, "count", problems)
        if problems:
            raise Invalid(problems)
        return ok(file_users_json(selection.file_users(offset=offset, count=count)))


class StartImportView(APIView):
    @endpoint(
        "startImport",
        ref("Success"),
        summary="Import the selected users of a parsed file (`existingUsers`, `updatePasswords` beside `input`)",
        request={
            "type": "object",
            "properties": {
                "input": {
                    "type": "object",
                    "properties": {
                        "users": {
                            "oneOf": [
                                {
                                    "type": "object",
                                    "properties": {
                                        "all": {"type": "boolean"},
                                        "list": {"type": "array", "items": STRING},
                                    },
                                    "additionalProperties": False,
                                },
                                {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {"user_id": STRING, "do_import": {"type": "boolean"}},
                                        "required": ["user_id"],
                                    },
                                },
                            ]
                        }
                    },
                    "required": ["users"],
                }
            },
            "required": ["input"],
        },
    )
    def post(self, request: Request) -> Response:
        select_all, selected, policy = validate_selection(self.body(request))
        enqueue(selection.import_start(user=request.user, select_all=select_all, selected=selected, **policy))
        return ok()


class GetImportProgressView(APIView):
    @endpoint(
        "getImportProgress",
        success(
            key=STRING,
            name=STRING,
            step=STRING,
            count={
                "type": "object",
                "properties": {"total": INTEGER, "completed": INTEGER, "error": INTEGER},
                "required": ["total", "completed", "error"],
            },
        ),
        summary="Progress of the latest operation",
        rules=True,
    )
    def get(self, request: Request) -> Response:
        operation = ImportOperation.objects.with_progress().latest_or_raise(FileOperationNotFound, valid=False)
        return ok(progress_json(operation))
