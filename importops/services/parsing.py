"""Parsing a stored file into staged records: the background task of a file import."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from functools import partial
from typing import Any

from django.db import transaction

from importops import errors, retry
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
    operation with a reason a person can act on. Every database step is a unit of work
    (``importops.retry``): a passing database fault is waited out, not fatal."""
    step = retry.unit
    if not step(partial(_advance, operation_id, Status.FILE_LOADED, Status.PREPARING_STARTED), what="a parse"):
        return  # replaced, aborted, or parsed already
    operation = step(partial(ImportOperation.objects.get, pk=operation_id), what="a parse")
    importer = file_importer(operation.importer_key)
    try:
        with files.storage().open(operation.file, "rb") as stored, open_source(stored, operation.file_name) as source:
            parsed: Parsed = importer.parser(source)  # type: ignore[misc]
            step(partial(_advance, operation_id, Status.PREPARING_STARTED, Status.PREPARING_USERS), what="a parse")
            staging.users_stage(
                operation_id=operation_id,
                users=_checked(parsed),
                statuses=[Status.PREPARING_USERS],
                on_progress=on_progress,
            )
            channels = parsed.channels()
            step(partial(_stage_channels, operation_id, channels), what="a parse")
            messages = parsed.messages()
        users = ImportRecord.objects.filter(operation_id=operation_id, data_type=DataType.USER)
        if not step(users.exists, what="a parse"):
            raise errors.FileParseError(f"{operation.file_name}: no users found in the file.")
        ready = partial(_advance, operation_id, Status.PREPARING_MESSAGES, Status.USER_SELECTION)
        step(partial(ready, count_messages=messages), what="a parse")
        step(partial(_file_forget, operation_id), what="a parse")  # its content is staged: the stored file goes now
    except staging.StagingStopped:
        logger.info("parse of %s stopped: the operation was replaced or aborted", operation_id)
    except errors.FileParseError as exc:
        _fail(operation_id, exc.message)
    except errors.DatabaseUnavailable as exc:
        _fail(operation_id, exc.message, traceback.format_exc())
    except Exception as exc:
        logger.exception("parsing the file of %s failed", operation_id)
        _fail(operation_id, f"The file could not be read: {type(exc).__name__}: {exc}", traceback.format_exc())


def _fail(operation_id: str, reason: str, details: str = "") -> None:
    """A refused file leaves nothing staged; the operation fails with the reason."""

    def discard_and_fail() -> None:
        with transaction.atomic():
            ImportRecord.objects.filter(operation_id=operation_id).delete()
            ImportOperation.objects.transition(operation_id, count_total=0, count_users=0, count_channels=0)
            _file_forget(operation_id)
            running.run_fail(operation_id=operation_id, reason=reason, details=details)

    retry.unit(discard_and_fail, what="failing a parse")


def _checked(parsed: Parsed) -> Any:
    """The users of a file, refused (with their line) as import.addUsers would refuse them."""
    allowed = staging.importable_roles()
    for number, user in enumerate(parsed.users, start=1):
        invalid = [role for role in user.get("roles") or [] if role not in allowed]
        if invalid:
            raise errors.FileParseError(f"user {number}: role {invalid[0]!r} is not importable (IMPORTABLE_ROLES).")
        yield user


def _stage_channels(operation_id: str, channels: list[dict[str, Any]]) -> None:
    """Stage the channels (listed, never imported) and move on to counting messages, at once:
    run again after a lost commit, the state check keeps them from being staged twice."""
    with transaction.atomic():
        if not _advance(operation_id, Status.PREPARING_USERS, Status.PREPARING_MESSAGES, count_channels=len(channels)):
            return
        ImportRecord.objects.bulk_create(
            [
                ImportRecord(operation_id=operation_id, data_type=DataType.CHANNEL, data=channel, skipped=True)
                for channel in channels
            ]
        )


def _file_forget(operation_id: str) -> None:
    with transaction.atomic():
        files.operation_files_delete(operation_ids=[operation_id])
        ImportOperation.objects.transition(operation_id, file="")
