"""File intake: an uploaded or downloaded file becomes a new operation holding it.

The rest of a file import: ``parsing`` (the background task that stages its users) and
``selection`` (reading the staged users, starting the import with a choice of them)."""

from __future__ import annotations

import contextlib
import logging
import posixpath
from functools import partial
from typing import IO, Any

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile, File
from django.db import transaction
from django.utils.text import get_valid_filename

from importops import errors, jsonsafe, retry
from importops.conf import importops_settings
from importops.importers import registry
from importops.importers.sources import check_upload
from importops.models import ImportOperation
from importops.services import download, files, operations, running
from importops.services.work import Work
from importops.states import Status

logger = logging.getLogger("importops")
MAX_NAME_LENGTH = 255  # the columns that keep a file's name and content type


def file_importer(key: str) -> registry.Importer:
    importer = registry.get(key)
    if importer is None or importer.parser is None:
        raise errors.UnknownImporter(key)
    return importer


# -- intake ---------------------------------------------------------------------------


def file_upload(
    *,
    user: Any,
    importer_key: str,
    file_name: str,
    content_type: str,
    content: IO[bytes],
    local: bool = False,
) -> Work:
    """Refuse what can be judged at once (4xx, nothing changed); else replace every operation
    with a new one holding the stored file, whose parse is the work returned (the command
    line calls file_parse itself instead). MAX_UPLOAD_SIZE guards
    uploads from outside; a ``local`` file, read from the server's own disk by an operator,
    is not held to it."""
    importer = file_importer(importer_key)
    content.seek(0, 2)
    size = content.tell()
    content.seek(0)
    if not local and size > importops_settings.MAX_UPLOAD_SIZE:
        raise errors.PayloadTooLarge(importops_settings.MAX_UPLOAD_SIZE)
    file_name = posixpath.basename(file_name.replace("\\", "/")) or "upload"
    for label, value in (("file name", file_name), ("content type", content_type)):
        problem = jsonsafe.text_problem(value) or (len(value) > MAX_NAME_LENGTH and "is too long")
        if problem:
            raise errors.InvalidImportFile(f"The {label} {problem} (at most {MAX_NAME_LENGTH} characters of text).")
    check_upload(content, file_name)
    stored_name = _storage_name(file_name)
    operation = operations.operation_create(
        user=user,
        importer_key=importer.key,
        importer_name=importer.name,
        status=Status.UPLOADING,
        file_name=file_name,
        content_type=content_type,
    )
    stored = _store(operation, stored_name, file_name, content)
    with transaction.atomic():
        loaded = ImportOperation.objects.filter(valid=True).transition(
            operation.pk, source=Status.UPLOADING, file=stored, status=Status.FILE_LOADED
        )
        if not loaded:  # replaced while the file was being stored
            transaction.on_commit(lambda: files.storage().delete(stored))
    operation.refresh_from_db()
    return Work(operation, parse=bool(loaded))


def _store(operation: ImportOperation, stored_name: str, file_name: str, content: IO[bytes]) -> str:
    """Save the file; when the storage fails (a full disk, a storage service down) the new
    operation fails with the reason, and a partly written file is removed."""
    name = f"importops/{operation.pk}/{stored_name}"
    try:
        return str(files.storage().save(name, File(content, name=file_name)))
    except Exception as exc:
        logger.exception("storing the file of %s failed", operation.pk)
        with contextlib.suppress(Exception):
            files.storage().delete(name)
        reason = f"The file could not be stored: {retry.describe(exc)}"
        retry.unit(partial(running.run_fail, operation_id=operation.pk, reason=reason), what="failing an upload")
        raise errors.FileNotStored(reason) from exc


def _storage_name(file_name: str) -> str:
    """A name any storage accepts: safe characters, short (the extension kept)."""
    try:
        name = get_valid_filename(file_name)
    except SuspiciousFileOperation:  # "..", or nothing left
        name = ""
    return name[-100:] or "upload"


def file_download(*, user: Any, importer_key: str, url: str) -> Work:
    file_importer(importer_key)
    content, content_type, name = download.download(url)
    return file_upload(
        user=user, importer_key=importer_key, file_name=name, content_type=content_type, content=ContentFile(content)
    )
