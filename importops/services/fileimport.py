"""File importers (SPEC "File importers"): upload or download a file, parse it in the
background into staged records, list them, start the import with a selection."""

from __future__ import annotations

import logging
import posixpath
import traceback
from collections.abc import Callable
from typing import IO, Any

from django.core.files.base import ContentFile, File
from django.db import transaction
from django.utils.text import get_valid_filename

from importops import errors
from importops.bulk import InArray
from importops.conf import importops_settings
from importops.importers import registry
from importops.importers.parsed import Parsed
from importops.importers.sources import check_upload, open_source
from importops.models import ImportOperation, ImportRecord
from importops.models.record import DataType
from importops.services import download, files, operations, running, staging
from importops.services.audit import CHANGE, audit
from importops.services.work import Work
from importops.states import State, Status

logger = logging.getLogger("importops")


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
    check_upload(content, file_name)
    operation = operations.operation_create(
        user=user,
        importer_key=importer.key,
        importer_name=importer.name,
        status=Status.UPLOADING,
        file_name=file_name,
        content_type=content_type,
    )
    stored = files.storage().save(
        f"importops/{operation.pk}/{get_valid_filename(file_name) or 'upload'}", File(content, name=file_name)
    )
    with transaction.atomic():
        loaded = ImportOperation.objects.filter(valid=True).transition(
            operation.pk, source=Status.UPLOADING, file=stored, status=Status.FILE_LOADED
        )
        if not loaded:  # replaced while the file was being stored
            transaction.on_commit(lambda: files.storage().delete(stored))
    operation.refresh_from_db()
    return Work(operation, parse=bool(loaded))


def file_download(*, user: Any, importer_key: str, url: str) -> Work:
    file_importer(importer_key)
    content, content_type, name = download.download(url)
    return file_upload(
        user=user, importer_key=importer_key, file_name=name, content_type=content_type, content=ContentFile(content)
    )


# -- parsing (the background task) ----------------------------------------------------


def _advance(operation_id: str, current: str, following: str, **fields: Any) -> bool:
    return ImportOperation.objects.filter(valid=True).transition(
        operation_id, source=current, status=following, **fields
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
    """A refused file leaves nothing staged."""
    ImportRecord.objects.filter(operation_id=operation_id).delete()
    ImportOperation.objects.transition(operation_id, count_total=0, count_users=0, count_channels=0)


# -- reading and starting -------------------------------------------------------------


def file_data(*, offset: int | None, count: int | None) -> dict[str, Any]:
    """getImportFileData: no side effects."""
    operation = ImportOperation.objects.with_progress().latest_or_raise(errors.FileOperationNotFound, valid=False)
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
) -> Work:
    """startImport: mark unselected users skipped (not counted in total), then run. The
    selection is everybody (``select_all``) or ``selected`` importIds, minus ``deselected``."""
    with transaction.atomic():
        operation = ImportOperation.objects.latest_or_raise(errors.OperationNotFound, for_update=True)
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
        ImportOperation.objects.transition(operation.pk, count_total=chosen)
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
