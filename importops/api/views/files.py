"""File importer endpoints (SPEC "File importers", Rocket.Chat 3.0.0)."""

from __future__ import annotations

import base64
import binascii
import io
from typing import Any

from drf_spectacular.utils import OpenApiParameter
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from importops.api.base import APIView, LimitedJSONParser, ok
from importops.api.schema import INTEGER, STRING, endpoint, ref, success
from importops.api.validation import Invalid, boolean, clean_object, string, strings, validate
from importops.conf import importops_settings
from importops.errors import FileOperationNotFound
from importops.models import ImportOperation
from importops.services import fileimport

UPLOAD_FIELDS = {"binaryContent": string, "contentType": string, "fileName": string, "importerKey": string}


class UploadImportFileView(APIView):
    parser_classes = [LimitedJSONParser, MultiPartParser]

    def body_limit(self) -> int:
        # base64 makes a file a third bigger; the limit that matters is MAX_UPLOAD_SIZE.
        return int(importops_settings.MAX_UPLOAD_SIZE * 4 / 3) + 64 * 1024

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
            upload = request.FILES.get("file")
            key = request.data.get("importerKey")
            problems = [] if upload is not None else ["file: is required"]
            if not isinstance(key, str) or not key:
                problems.append("importerKey: is required")
            if problems:
                raise Invalid(problems)
            content: Any = upload
            name = request.data.get("fileName") or upload.name
            content_type = request.data.get("contentType") or upload.content_type or ""
        else:
            body = validate(self.body(request), UPLOAD_FIELDS, required=tuple(UPLOAD_FIELDS))
            key, name, content_type = body["importerKey"], body["fileName"], body["contentType"]
            data = body["binaryContent"]
            if ";base64," in data[:200]:  # a data: URL, as browsers produce
                data = data.split(";base64,", 1)[1]
            fileimport.file_importer(key)  # an unknown importer is refused before decoding
            try:
                content = io.BytesIO(base64.b64decode(data, validate=True))
            except (binascii.Error, ValueError) as exc:
                raise Invalid([f"binaryContent: not valid base64 ({exc})"]) from exc
        fileimport.file_upload(
            user=request.user, importer_key=key, file_name=name, content_type=content_type, content=content
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
        fileimport.file_download(user=request.user, importer_key=body["importerKey"], url=body["fileUrl"])
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
        return ok(fileimport.file_data(offset=offset, count=count))


def _selection(body: Any) -> tuple[bool, list[str]]:
    """(import all?, selected importIds) from the 7.0 or the pre-7.0 startImport body."""
    problems: list[str] = []
    outer = clean_object(
        body,
        {"input": lambda v: None if isinstance(v, dict) else "must be an object"},
        required=("input",),
        problems=problems,
    )
    given = outer.get("input", {})
    users = given.get("users") if isinstance(given, dict) else None
    if isinstance(users, dict):
        chosen = clean_object(users, {"all": boolean, "list": strings}, path="input.users", problems=problems)
        if problems:
            raise Invalid(problems)
        return bool(chosen.get("all", False)), list(chosen.get("list", []))
    if isinstance(users, list):
        selected = []
        for index, user in enumerate(users):
            row = clean_object(
                user,
                {"user_id": string, "do_import": boolean},
                path=f"input.users[{index}]",
                required=("user_id",),
                unknown="drop",
                problems=problems,
            )
            if row.get("do_import", True) and "user_id" in row:
                selected.append(row["user_id"])
        if problems:
            raise Invalid(problems)
        return False, selected
    raise Invalid(problems or ["input.users: must be an object ({all, list}) or an array of users"])


class StartImportView(APIView):
    @endpoint(
        "startImport",
        ref("Success"),
        summary="Import the selected users of a parsed file",
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
            "additionalProperties": False,
        },
    )
    def post(self, request: Request) -> Response:
        select_all, selected = _selection(self.body(request))
        fileimport.import_start(user=request.user, select_all=select_all, selected=selected)
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
        operation = ImportOperation.objects.latest_operation()
        if operation is None:
            raise FileOperationNotFound()
        return ok(fileimport.progress(operation=operation))
