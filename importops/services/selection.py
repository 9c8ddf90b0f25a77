"""Choosing the users of a parsed file: list them (getImportFileData), start the import
with a selection (startImport)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from importops import errors
from importops.bulk import InArray
from importops.conf import importops_settings
from importops.models import ImportOperation, ImportRecord
from importops.models.operation import ExistingUsers
from importops.models.record import DataType
from importops.services import running
from importops.services.audit import CHANGE, audit
from importops.services.work import Work
from importops.states import State, Status
from importops.validation import first_non_blank


@dataclass(frozen=True)
class FileUsers:
    """A page of a parsed file's staged users (getImportFileData), as data."""

    operation: ImportOperation
    users: list[tuple[dict[str, Any], bool]]  # (staged data, skipped)
    taken_emails: set[str]  # lowercased emails of the page that existing users hold
    channels: list[dict[str, Any]]
    total: int | None  # given when paged or truncated
    truncated: bool


def file_users(*, offset: int | None, count: int | None) -> FileUsers | None:
    """getImportFileData: no side effects. None while the file is still being parsed."""
    operation = ImportOperation.objects.with_progress().latest_or_raise(errors.FileOperationNotFound, valid=False)
    if operation.state == State.LOADING:
        return None
    if operation.state == State.ERROR and operation.failure_reason:
        raise errors.ImportOpsError(operation.failure_reason)
    users = ImportRecord.objects.filter(operation=operation, data_type=DataType.USER).order_by("id")
    total = operation.count_users
    limit = importops_settings.FILE_DATA_MAX_USERS
    paged = offset is not None or count is not None
    start = offset or 0
    size = min(count, limit) if count is not None else limit
    rows = list(users.values_list("data", "skipped")[start : start + size])
    taken, _ = running.adapter().taken(emails=[first_non_blank(d.get("emails")) for d, _ in rows], usernames=[])
    channels = ImportRecord.objects.filter(operation=operation, data_type=DataType.CHANNEL).order_by("id")
    return FileUsers(
        operation=operation,
        users=rows,
        taken_emails=set(taken),
        channels=list(channels.values_list("data", flat=True)),
        total=total if paged or total > limit else None,
        truncated=not paged and total > limit,
    )


def import_start(
    *,
    user: Any,
    select_all: bool,
    selected: list[str] | None = None,
    deselected: list[str] | None = None,
    existing_users: str = ExistingUsers.FAIL,
    update_passwords: bool = False,
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
    return running.run_start(user=user, existing_users=existing_users, update_passwords=update_passwords)
