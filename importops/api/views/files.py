"""File importer endpoints (docs/api.md, "File importers"; Rocket.Chat 3.0.0)."""

from __future__ import annotations

import base64
import binascii
import io
from typing import Any

from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from importops.api.base import APIView, LimitedJSONParser, ok
from importops.api.serializers import file_users_json, progress_json
from importops.conf import importops_settings
from importops.errors import FileOperationNotFound, Invalid
from importops.models import ImportOperation
from importops.services import intake, selection
from importops.tasks import enqueue
from importops.validation import string, validate, validate_selection

UPLOAD_FIELDS = {"binaryContent": string, "contentType": string, "fileName": string, "importerKey": string}


class UploadImportFileView(APIView):
    parser_classes = [LimitedJSONParser, MultiPartParser]

    def body_limit(self) -> int:
        # base64 makes a file a third bigger; the limit that matters is MAX_UPLOAD_SIZE.
        return int(importops_settings.MAX_UPLOAD_SIZE * 4 / 3) + 64 * 1024

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
    def post(self, request: Request) -> Response:
        body = validate(
            self.body(request), {"fileUrl": string, "importerKey": string}, required=("fileUrl", "importerKey")
        )
        enqueue(intake.file_download(user=request.user, importer_key=body["importerKey"], url=body["fileUrl"]))
        return ok()


def _non_negative(request: Request, name: str, problems: list[str]) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        problems.append(f"{name}: must be a non-negative integer")
        return None
    return int(raw)


class GetImportFileDataView(APIView):
    def get(self, request: Request) -> Response:
        problems: list[str] = []
        offset = _non_negative(request, "offset", problems)
        count = _non_negative(request, "count", problems)
        if problems:
            raise Invalid(problems)
        return ok(file_users_json(selection.file_users(offset=offset, count=count)))


class StartImportView(APIView):
    def post(self, request: Request) -> Response:
        select_all, selected, policy = validate_selection(self.body(request))
        enqueue(selection.import_start(user=request.user, select_all=select_all, selected=selected, **policy))
        return ok()


class GetImportProgressView(APIView):
    def get(self, request: Request) -> Response:
        operation = ImportOperation.objects.with_progress().latest_or_raise(FileOperationNotFound, valid=False)
        return ok(progress_json(operation))
