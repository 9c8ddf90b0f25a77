"""Parsing a stored file into staged records: the background task of a file import."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from django.db import transaction

from importops import errors
from importops.importers.parsed import Parsed
from importops.importers.sources import open_source
from importops.models import ImportOperation, ImportRecord
from importops.models.record import DataType
from importops.services import files, running, staging
from importops.services.intake import file_importer
from importops.states import Status

logger = logging.getLogger("importops")


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
    ImportOperation.objects.transition(operation_id, count_total=0, count_users=0, count_channels=0)
    _file_forget(operation_id)


def _file_forget(operation_id: str) -> None:
    with transaction.atomic():
        files.operation_files_delete(operation_ids=[operation_id])
        ImportOperation.objects.filter(pk=operation_id).update(file="")
