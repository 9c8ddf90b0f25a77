"""Undo an import: delete (or deactivate) the users it created, restore the fields it
updated, unlink the importIds it linked — except where the user has moved on since.

Exact because every run records what it did (``ImportChange``): a created user's values,
an updated user's old and new values. A user is kept, and listed, when it logged in since
(``last_login`` or an API token) or no longer holds what the run wrote (someone, or a later
import, changed it). Runs in the background in chunks, one transaction each, with the
users' rows locked (FOR UPDATE) — the lock a concurrent import's batch also takes on the
users it matches, so the two never interleave on one user.
"""

from __future__ import annotations

import logging
from collections import Counter
from functools import partial
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from importops import errors, retry
from importops.bulk import InArray
from importops.conf import importops_settings
from importops.models import AuthToken, ImportChange, ImportedIdentity, ImportOperation
from importops.models.change import ChangeAction, UndoOutcome
from importops.models.operation import UndoMode
from importops.services.audit import CHANGE, audit
from importops.services.permissions import ABORT, can
from importops.services.staging import importable_roles
from importops.services.work import Work
from importops.states import UNDOABLE, Status
from importops.users import UserAdapter

logger = logging.getLogger("importops")

MAX_CHUNK = 500
COUNTERS = ("deleted", "deactivated", "reverted", "unlinked", "kept", "gone")
KEPT = {UndoOutcome.KEPT_LOGGED_IN, UndoOutcome.KEPT_CHANGED}


def undo_start(*, user: Any, operation_id: str, mode: str = UndoMode.DELETE) -> Work:
    """Move a finished operation to ``importer_undoing``; the undo task is the work returned.

    Refused (``error-invalid-operation-status``) unless the run ended: done, failed or
    canceled — never while it runs, and never twice. The caller needs the abort permission
    on the operation (globally or as an object permission).
    """
    if mode == UndoMode.DEACTIVATE and importops_settings.USER_ADAPTER()._field("is_active") is None:
        raise errors.Invalid(["mode: the user model has no is_active field to deactivate users with"])
    with transaction.atomic():
        operation = ImportOperation.objects.filter(pk=operation_id).first()
        if operation is None:
            raise errors.OperationNotFound()
        if user is not None and not can(user, ABORT, operation):
            raise errors.Unauthorized()
        total = ImportChange.objects.filter(operation=operation).count()
        by = str(user.pk) if getattr(user, "pk", None) else None
        counts = {"total": total, "processed": 0, **dict.fromkeys(COUNTERS, 0), "from": operation.status, "by": by}
        started = ImportOperation.objects.transition(
            operation.pk, source=UNDOABLE, status=Status.UNDOING, undo_mode=mode, undo_counts=counts
        )
        if not started:
            raise errors.InvalidOperationStatus()
        audit(user=user, obj=operation, action=CHANGE, message=f"Started an undo ({mode}) of {total} user change(s)")
    logger.info("undo started id=%s mode=%s changes=%s", operation.pk, mode, total)
    operation.refresh_from_db()
    return Work(operation, undo=True)


def undo_run(*, operation_id: str) -> None:
    """The body of the undo task: chunk by chunk until every change is undone, then done."""
    user_adapter: UserAdapter = importops_settings.USER_ADAPTER()
    while retry.unit(partial(_undo_chunk, operation_id, user_adapter), what="an undo chunk"):
        pass
    retry.unit(partial(_undo_finish, operation_id), what="finishing an undo")


def _undo_finish(operation_id: str) -> None:
    with transaction.atomic():
        now = timezone.now()
        finished = ImportOperation.objects.transition(operation_id, source=Status.UNDOING, at=now, status=Status.UNDONE)
        if finished:
            operation = ImportOperation.objects.get(pk=operation_id)
            counts = operation.undo_counts
            summary = ", ".join(f"{counts[name]} {name}" for name in COUNTERS if counts.get(name))
            by = counts.get("by")  # who started it: the end is written to the history in their name
            actor = get_user_model()._default_manager.filter(pk=by).first() if by else None
            audit(user=actor, obj=operation, action=CHANGE, message=f"Undone: {summary or 'nothing to undo'}")
    logger.info("undo done id=%s", operation_id)


def undo_resume(*, stale_before: Any) -> list[Work]:
    """The undos that moved no chunk since ``stale_before`` (their worker died), to queue
    again. Two undo tasks of one operation are harmless: chunks lock the operation row in turn."""
    stale = ImportOperation.objects.filter(status=Status.UNDOING, updated_at__lt=stale_before)
    resumed = []
    for operation in stale:
        if stale.transition(operation.pk):  # stamps updated_at: one sweep resumes it
            resumed.append(Work(operation, undo=True))
            logger.warning("undo resumed id=%s", operation.pk)
    return resumed


def _undo_chunk(operation_id: str, user_adapter: UserAdapter) -> bool:
    """Undo the next chunk of changes in one transaction. False when none is left."""
    with transaction.atomic():
        operation = ImportOperation.objects.select_for_update().filter(pk=operation_id).first()
        if operation is None or operation.status != Status.UNDOING:
            return False
        changes = list(
            ImportChange.objects.select_for_update()
            .filter(operation_id=operation_id, undo="")
            .order_by("id")[: min(MAX_CHUNK, importops_settings.BATCH_SIZE)]
        )
        if not changes:
            return False
        outcomes = _undo_changes(operation, changes, user_adapter, UndoMode(operation.undo_mode))
        ImportChange.objects.bulk_update(changes, ["undo"])
        tally = Counter("kept" if o in KEPT else o for o in outcomes)
        counts = dict(operation.undo_counts)
        counts["processed"] = counts.get("processed", 0) + len(changes)
        for name in COUNTERS:
            counts[name] = counts.get(name, 0) + tally[name]
        ImportOperation.objects.transition(operation_id, undo_counts=counts)
    return True


def _undo_changes(
    operation: ImportOperation, changes: list[ImportChange], user_adapter: UserAdapter, mode: UndoMode
) -> list[str]:
    pks = {c.user_id for c in changes if c.user_id is not None}
    fields = {name for c in changes for name in c.changes if name != "groups"}  # the same keys in both forms
    fields |= {name for name in ("last_login", "is_active", "password") if user_adapter._field(name) is not None}
    current = user_adapter.current(pks, fields, lock=True)
    groups = user_adapter.importable_groups(current, importable_roles())
    logged_in = {pk for pk, row in current.items() if row.get("last_login")}
    logged_in |= set(AuthToken.objects.filter(InArray("user_id", list(current))).values_list("user_id", flat=True))
    others = set(
        ImportedIdentity.objects.filter(InArray("user_id", list(current)))
        .exclude(operation_id=operation.pk)
        .values_list("user_id", flat=True)
    )
    delete, deactivate, restore, unlink = [], [], [], []
    remove_groups: list[tuple[Any, str]] = []
    for change in changes:
        row = current.get(change.user_id)
        if row is None:
            change.undo = UndoOutcome.GONE
        elif change.action == ChangeAction.CREATED:
            if change.user_id in logged_in:
                change.undo = UndoOutcome.KEPT_LOGGED_IN
            elif change.user_id in others or not _still_as_written(change, row, groups.get(change.user_id, set())):
                change.undo = UndoOutcome.KEPT_CHANGED
            elif mode == UndoMode.DEACTIVATE:
                change.undo = UndoOutcome.DEACTIVATED
                deactivate.append(change.user_id)
            else:
                change.undo = UndoOutcome.DELETED
                delete.append(change.user_id)
        elif change.action == ChangeAction.UPDATED:
            have = groups.get(change.user_id, set())
            if not _still_as_written(change, row, have):
                change.undo = UndoOutcome.KEPT_CHANGED
                continue
            change.undo = UndoOutcome.REVERTED
            restore.append((change.user_id, _old_values(change)))
            if "groups" in change.changes:  # an update: {"old", "new"}
                added = set(change.changes["groups"]["new"]) - set(change.changes["groups"]["old"])
                remove_groups += [(change.user_id, name) for name in sorted(added)]
            unlink.append(change)
        else:
            change.undo = UndoOutcome.UNLINKED
            unlink.append(change)
    _unlink(operation.pk, unlink)
    user_adapter.save_values(restore)
    user_adapter.change_groups(add=[], remove=remove_groups)
    if deactivate:
        # A field of the host's user model (AbstractBaseUser, as typed, only declares it).
        user_adapter.model._default_manager.filter(InArray("pk", deactivate)).update(**{"is_active": False})
    if delete:
        user_adapter.model._default_manager.filter(InArray("pk", delete)).delete()
    return [change.undo for change in changes]


def _still_as_written(change: ImportChange, row: dict[str, Any], groups: set[str]) -> bool:
    """Does the user still hold every value the run wrote (a created one: only those)?"""
    if change.action == ChangeAction.CREATED and "groups" not in change.changes and groups:
        return False
    for name, values in change.field_changes().items():
        if name == "groups":
            if set(values["new"]) != groups:
                return False
        elif name == "password":
            if (change.password_hashes or {}).get("new") != row.get("password"):
                return False
        elif row.get(name) != values["new"]:
            return False
    return True


def _old_values(change: ImportChange) -> dict[str, Any]:
    values = {name: v["old"] for name, v in change.changes.items() if name not in ("groups", "password")}
    if "password" in change.changes and change.password_hashes:
        values["password"] = change.password_hashes["old"]
    return values


def _unlink(operation_id: str, changes: list[ImportChange]) -> None:
    """Remove the importIds this run linked to existing users (its own identity rows)."""
    keys = [key.lower() for change in changes for key in change.linked]
    if keys:
        ImportedIdentity.objects.annotate(key=Lower("import_id")).filter(
            InArray("key", keys), operation_id=operation_id
        ).delete()
