"""File importers (SPEC "File importers"): upload or download a file, parse it in the
background into staged records, list them, start the import with a selection."""

from __future__ import annotations

import logging
import posixpath
import traceback
from collections.abc import Callable
from typing import IO, Any

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile, File
from django.db import transaction
from django.utils import timezone
from django.utils.text import get_valid_filename

from importops import errors, jsonsafe
from importops.conf import importops_settings
from importops.importers import registry
from importops.importers.parsed import Parsed
from importops.importers.sources import check_upload, open_source
from importops.models import ImportOperation, ImportRecord
from importops.models.record import DataType
from importops.services import download, files, operations, running, staging
from importops.services.audit import CHANGE, audit
from importops.services.bulk import InArray
from importops.states import State, Status

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
    parse: bool = True,
    local: bool = False,
) -> ImportOperation:
    """Refuse what can be judged at once (4xx, nothing changed); else replace every operation
    with a new one holding the stored file, and parse it in the background (``parse=False``:
    the caller calls file_parse itself, as the command line does). MAX_UPLOAD_SIZE guards
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
    stored = files.storage().save(f"importops/{operation.pk}/{stored_name}", File(content, name=file_name))
    with transaction.atomic():
        loaded = ImportOperation.objects.filter(pk=operation.pk, status=Status.UPLOADING, valid=True).update(
            file=stored, status=Status.FILE_LOADED, updated_at=timezone.now()
        )
        if not loaded:  # replaced while the file was being stored
            transaction.on_commit(lambda: files.storage().delete(stored))
        elif parse:
            enqueue_parse(operation_id=operation.pk)
    operation.refresh_from_db()
    return operation


def _storage_name(file_name: str) -> str:
    """A name any storage accepts: safe characters, short (the extension kept)."""
    try:
        name = get_valid_filename(file_name)
    except SuspiciousFileOperation:  # "..", or nothing left
        name = ""
    return name[-100:] or "upload"


def file_download(*, user: Any, importer_key: str, url: str) -> ImportOperation:
    file_importer(importer_key)
    content, content_type, name = download.download(url)
    return file_upload(
        user=user, importer_key=importer_key, file_name=name, content_type=content_type, content=ContentFile(content)
    )


def enqueue_parse(*, operation_id: str) -> None:
    from importops.tasks import parse_import_file

    def enqueue() -> None:
        parse_import_file.using(
            backend=importops_settings.TASK_BACKEND, queue_name=importops_settings.TASK_QUEUE
        ).enqueue(operation_id)

    transaction.on_commit(enqueue)


# -- parsing (the background task) ----------------------------------------------------


def _advance(operation_id: str, current: str, following: str, **fields: Any) -> bool:
    return bool(
        ImportOperation.objects.filter(pk=operation_id, valid=True, status=current).update(
            status=following, updated_at=timezone.now(), **fields
        )
    )


def file_parse(*, operation_id: str, on_progress: Callable[[int], None] | None = None) -> None:
    """Parse the stored file into staged records; a file that cannot be parsed fails the
    operation with a reason a person can act on."""
    if not _advance(operation_id, Status.FILE_LOADED, Status.PREPARING_STARTED):
        return  # replaced, aborted, or parsed already
    operation = ImportOperation.objects.get(pk=operation_id)
    importer = file_importer(operation.importer_key)
    try:
        with files.storage().open(operation.file, "rb") as stored, open_source(stored, operation.file_name) as source:
            parsed: Parsed = importer.parser(source)  # type: ignore[misc]
            _advance(operation_id, Status.PREPARING_STARTED, Status.PREPARING_USERS)
            staging.users_stage(
                operation_id=operation_id,
                users=_checked(parsed),
                statuses=[Status.PREPARING_USERS],
                on_progress=on_progress,
            )
            _advance(operation_id, Status.PREPARING_USERS, Status.PREPARING_CHANNELS)
            channels = parsed.channels()
            _stage_channels(operation_id, channels)
            _advance(operation_id, Status.PREPARING_CHANNELS, Status.PREPARING_MESSAGES, count_channels=len(channels))
            messages = parsed.messages()
        if not ImportRecord.objects.filter(operation_id=operation_id, data_type=DataType.USER).exists():
            raise errors.FileParseError(f"{operation.file_name}: no users found in the file.")
        _advance(operation_id, Status.PREPARING_MESSAGES, Status.USER_SELECTION, count_messages=messages)
        _file_forget(operation_id)  # its content is staged: the stored file goes now
    except staging.StagingStopped:
        logger.info("parse of %s stopped: the operation was replaced or aborted", operation_id)
    except errors.FileParseError as exc:
        _discard(operation_id)
        running.run_fail(operation_id=operation_id, reason=exc.message)
    except Exception as exc:
        logger.exception("parsing the file of %s failed", operation_id)
        _discard(operation_id)
        running.run_fail(
            operation_id=operation_id,
            reason=f"The file could not be read: {type(exc).__name__}: {exc}",
            details=traceback.format_exc(),
        )


def _checked(parsed: Parsed) -> Any:
    """The users of a file, refused (with their line) as import.addUsers would refuse them."""
    allowed = staging.importable_roles()
    for number, user in enumerate(parsed.users, start=1):
        invalid = [role for role in user.get("roles") or [] if role not in allowed]
        if invalid:
            raise errors.FileParseError(f"user {number}: role {invalid[0]!r} is not importable (IMPORTABLE_ROLES).")
        yield user


def _stage_channels(operation_id: str, channels: list[dict[str, Any]]) -> None:
    ImportRecord.objects.bulk_create(
        [
            ImportRecord(operation_id=operation_id, data_type=DataType.CHANNEL, data=channel, skipped=True)
            for channel in channels
        ]
    )


def _discard(operation_id: str) -> None:
    """A refused file leaves nothing staged, and is not kept."""
    ImportRecord.objects.filter(operation_id=operation_id).delete()
    ImportOperation.objects.filter(pk=operation_id).update(count_total=0, count_users=0, count_channels=0)
    _file_forget(operation_id)


def _file_forget(operation_id: str) -> None:
    with transaction.atomic():
        files.operation_files_delete(operation_ids=[operation_id])
        ImportOperation.objects.filter(pk=operation_id).update(file="")


# -- reading and starting -------------------------------------------------------------


def _latest() -> ImportOperation:
    operation = ImportOperation.objects.latest_operation()
    if operation is None:
        raise errors.FileOperationNotFound()
    return operation


def file_data(*, offset: int | None, count: int | None) -> dict[str, Any]:
    """getImportFileData: no side effects."""
    operation = _latest()
    if operation.state == State.LOADING:
        return {"waiting": True}
    if operation.state == State.ERROR and operation.failure_reason:
        raise errors.ImportOpsError(operation.failure_reason)
    users = ImportRecord.objects.filter(operation=operation, data_type=DataType.USER).order_by("id")
    total = operation.count_users
    limit = importops_settings.FILE_DATA_MAX_USERS
    paged = offset is not None or count is not None
    start = offset or 0
    size = min(count, limit) if count is not None else limit
    rows = list(users.values_list("data", "skipped")[start : start + size])
    taken, _ = running.adapter().taken(emails=[_first_email(d) for d, _ in rows], usernames=[])
    body: dict[str, Any] = {
        "name": operation.file_name or operation.type,
        "users": [
            {
                "user_id": (data.get("importIds") or [""])[0],
                "username": data.get("username", ""),
                "email": _first_email(data),
                "is_deleted": bool(data.get("deleted", False)),
                "is_bot": data.get("type") == "bot",
                "do_import": not skipped,
                "is_email_taken": _first_email(data).lower() in taken,
            }
            for data, skipped in rows
        ],
        "channels": [
            {"channel_id": c["name"], "name": c["name"], "is_private": c.get("private", False), "do_import": False}
            for c in ImportRecord.objects.filter(operation=operation, data_type=DataType.CHANNEL)
            .order_by("id")
            .values_list("data", flat=True)
        ],
        "message_count": operation.count_messages,
    }
    if paged or total > limit:
        body["total"] = total
    if not paged and total > limit:
        body["truncated"] = True
    return body


def _first_email(data: dict[str, Any]) -> str:
    return next((e.strip() for e in data.get("emails") or [] if isinstance(e, str) and e.strip()), "")


def import_start(
    *, user: Any, select_all: bool, selected: list[str] | None = None, deselected: list[str] | None = None
) -> ImportOperation:
    """startImport: mark unselected users skipped (not counted in total), then run. The
    selection is everybody (``select_all``) or ``selected`` importIds, minus ``deselected``."""
    with transaction.atomic():
        operation = ImportOperation.objects.select_for_update().order_by("-ts").first()
        if operation is None or not operation.valid:
            raise errors.OperationNotFound()
        if operation.status != Status.USER_SELECTION:
            raise errors.InvalidOperationStatus()
        users = ImportRecord.objects.filter(operation=operation, data_type=DataType.USER)
        users.update(skipped=not select_all)
        keys = list({key.strip().lower() for key in selected or []})
        if not select_all and keys:
            users.filter(InArray("import_id", keys)).update(skipped=False)
        excluded = list({key.strip().lower() for key in deselected or []})
        if excluded:
            users.filter(InArray("import_id", excluded)).update(skipped=True)
        chosen = users.filter(skipped=False).count()
        ImportOperation.objects.filter(pk=operation.pk).update(count_total=chosen, updated_at=timezone.now())
        if chosen != operation.count_users:
            audit(
                user=user, obj=operation, action=CHANGE, message=f"Selected {chosen} of {operation.count_users} users"
            )
    return running.run_start(user=user)


def progress(*, operation: ImportOperation) -> dict[str, Any]:
    completed, failed = operation.progress()
    return {
        "key": operation.importer_key,
        "name": operation.type,
        "step": operation.status,
        "count": {"total": operation.count_total, "completed": completed, "error": failed},
    }
