"""One batch of a run: claim records, hash passwords outside any transaction, then judge and
create users in one short transaction (docs/architecture.md: "Batches", "Locks")."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import BooleanField, ExpressionWrapper, F, Q, QuerySet
from django.utils import timezone

from importops.bulk import InArray, insert_rows
from importops.conf import importops_settings
from importops.models import (
    ImportChange,
    ImportedIdentity,
    ImportFailure,
    ImportLane,
    ImportOperation,
    ImportRecord,
)
from importops.models.change import ChangeAction
from importops.models.record import DataType
from importops.services.existing import CREATE, SKIP, UNCHANGED, UPDATE, existing_plan
from importops.services.judge import STAGED_ROW_FIELDS, StagedRow, Verdict, judge
from importops.services.locks import operation_share_lock
from importops.services.staging import importable_roles
from importops.signals import users_imported
from importops.staged import StagedUser
from importops.states import IMPORTING
from importops.users import UserAdapter

logger = logging.getLogger("importops")

INTEGRITY_RETRIES = 3


def lease() -> timedelta:
    """How long a lane's holder may go without renewing before it is presumed dead."""
    return timedelta(seconds=importops_settings.LEASE_SECONDS)


def batch_step(lane: ImportLane, holder: str, size: int, user_adapter: UserAdapter) -> int | None:
    """Claim and import one batch: records committed, 0 when the lane has no work left,
    None when the run was stopped or the lease lost.

    Records the lane claimed before (left by a holder that died, or by a batch the time
    budget cut short) come first. Otherwise up to ``size`` unclaimed records are locked
    with SKIP LOCKED, so parallel lanes never wait for each other. When none of them
    carries a password to hash, they are imported in this very transaction; else they are
    marked as the lane's, and hashed and imported after it commits.
    """
    with transaction.atomic():
        # Lock order, in every batch transaction: the operation row (shared) first, then
        # records. Stop calls lock the operation row, then delete records: the other
        # order would deadlock with them.
        if not _still_running(lane.operation_id):
            return None
        now = timezone.now()
        if not ImportLane.objects.filter(pk=lane.pk, holder=holder).update(lease_expires_at=now + lease()):
            return None
        pending = pending_users(lane.operation_id).order_by("id")
        mine = pending.filter(lane=lane)
        if mine.exists():
            rows: Iterable[StagedRow] = mine.values_list(*STAGED_ROW_FIELDS, named=True)[:size]
        else:
            # The staged users themselves are read with the claim: a batch that hashes
            # nothing is imported from them, in this very transaction; one that hashes
            # marks them as the lane's and goes on with them after it commits.
            needs_hashing = ExpressionWrapper(Q(secret__has_key="password"), output_field=BooleanField())  # noqa: S106
            candidates = list(
                pending.filter(lane__isnull=True)
                .select_for_update(skip_locked=True)
                .annotate(needs_hashing=needs_hashing)
                .values_list(*STAGED_ROW_FIELDS, "needs_hashing", named=True)[:size]
            )
            if not candidates:
                return 0
            if not any(row.needs_hashing for row in candidates):
                return _batch(lane, holder, candidates, user_adapter, claimed=False)
            ImportRecord.objects.filter(InArray("id", [row.pk for row in candidates])).update(lane=lane)
            rows = candidates
    return _batch(lane, holder, rows, user_adapter, claimed=True)


def pending_users(operation_id: str) -> QuerySet[ImportRecord]:
    """The run's staged users still to import (those a batch holds included, until it commits)."""
    return ImportRecord.objects.filter(operation_id=operation_id, data_type=DataType.USER, failed=False, skipped=False)


def _batch(
    lane: ImportLane, holder: str, rows: Iterable[StagedRow], user_adapter: UserAdapter, *, claimed: bool
) -> int | None:
    """Import (a prefix of) one batch of staged rows, in id order: how many records were
    committed, or None when the run was stopped or the lease lost. ``claimed`` records
    belong to the lane; others are locked by the caller's transaction.

    Passwords are hashed before the batch's transaction, and only until the time budget is
    spent; claimed records left over stay with the lane and go first in its next batch.
    """
    deadline = time.monotonic() + importops_settings.BATCH_TIME_BUDGET
    passwords: dict[int, str] = {}
    checked: dict[int, tuple[StagedUser, dict[str, Any] | None]] = {}
    taken: list[StagedRow] = []
    for row in rows:
        staged = user_adapter.read(row.pk, row.data, row.secret)
        checked[row.pk] = (staged, user_adapter.check(staged))
        if checked[row.pk][1] is None:
            passwords[row.pk] = user_adapter.encode_password(staged)
        taken.append(row)
        if claimed and time.monotonic() > deadline:
            break
    for attempt in range(INTEGRITY_RETRIES + 1):
        try:
            if not _commit_batch(lane, holder, taken, user_adapter, passwords, checked, claimed):
                return None
            return len(taken)
        except IntegrityError:
            # A user or importId appeared concurrently (another lane, or the host
            # project): judge the batch again; the clash is committed and visible now.
            # (The failed attempt was a savepoint: the caller's locks still hold.)
            if attempt == INTEGRITY_RETRIES:
                raise
            logger.warning("batch of %s hit a concurrent insert; retrying", lane)
    return None


def _commit_batch(
    lane: ImportLane,
    holder: str,
    rows: list[StagedRow],
    user_adapter: UserAdapter,
    passwords: dict[int, str],
    checked: dict[int, tuple[StagedUser, dict[str, Any] | None]],
    claimed: bool,
) -> bool:
    operation_id = lane.operation_id
    with transaction.atomic():
        if not _still_running(operation_id):  # the shared lock a stop call waits for
            return False
        now = timezone.now()
        if not ImportLane.objects.filter(pk=lane.pk, holder=holder).update(lease_expires_at=now + lease()):
            return False
        if claimed:
            # Lock the lane's records; a holder that lost its lease may have got some first.
            still_pending = set(
                ImportRecord.objects.select_for_update()
                .filter(InArray("id", [row.pk for row in rows]), lane=lane, failed=False)
                .values_list("id", flat=True)
            )
            rows = [row for row in rows if row.pk in still_pending]
        policy, update_passwords, importer_key = (
            ImportOperation.objects.filter(pk=operation_id)
            .values_list("existing_users", "update_passwords", "importer_key")
            .get()
        )
        verdicts = judge(operation_id=operation_id, records=rows, adapter=user_adapter, checked=checked, policy=policy)
        existing_plan(
            verdicts=verdicts,
            adapter=user_adapter,
            policy=policy,
            passwords=passwords if update_passwords else None,
            lock=True,
        )
        ok = [v for v in verdicts if v.error is None]
        context: dict[str, Any] = {"operation_id": operation_id, "importer_key": importer_key, "now": now}
        created = _create_users([v for v in ok if v.outcome == CREATE], user_adapter, passwords, **context)
        _update_users([v for v in ok if v.outcome == UPDATE], user_adapter)
        _link_and_record([v for v in ok if v.outcome != CREATE], **context)
        failed = [v for v in verdicts if v.error is not None]
        _record_failures(operation_id, failed)
        done = [v.user.record_id for v in ok]
        if done:
            ImportRecord.objects.filter(InArray("id", done)).delete()
        outcomes = Counter(v.outcome for v in ok)
        ImportLane.objects.filter(pk=lane.pk).update(
            completed=F("completed") + len(ok),
            error=F("error") + len(failed),
            updated=F("updated") + outcomes[UPDATE],
            skipped=F("skipped") + outcomes[SKIP],
            unchanged=F("unchanged") + outcomes[UNCHANGED],
            updated_at=now,
        )
        if created:
            transaction.on_commit(lambda: _announce(operation_id, created, user_adapter))
    return True


def _still_running(operation_id: str) -> bool:
    """Lock the operation row shared (until the transaction ends) and check it still runs."""
    locked = operation_share_lock(operation_id)
    return locked is not None and locked[0] in IMPORTING and locked[1]


def _create_users(
    verdicts: list[Verdict],
    user_adapter: UserAdapter,
    passwords: dict[int, str],
    *,
    operation_id: str,
    importer_key: str,
    now: Any,
) -> list[Any]:
    """Create the users of these verdicts; their primary keys."""
    if not verdicts:
        return []
    values = [_new_values(user_adapter, v) for v in verdicts]
    pks = user_adapter.create(
        [
            (v.user, {**fields, "password": passwords[v.user.record_id]})
            for v, fields in zip(verdicts, values, strict=True)
        ]
    )
    insert_rows(
        ImportedIdentity,
        ["import_id", "user_id", "username", "data"],
        (
            (import_id, pk, v.user.username[:255], v.user.extras())
            for v, pk in zip(verdicts, pks, strict=True)
            for import_id in dict.fromkeys(v.user.import_ids)
        ),
        constants={"operation_id": operation_id, "importer_key": importer_key, "created_at": now},
    )
    roles = importable_roles()
    _record_changes(
        (
            (v, pk, ChangeAction.CREATED, _snapshot(v, fields, roles, user_adapter.has_groups))
            for v, fields, pk in zip(verdicts, values, pks, strict=True)
        ),
        operation_id=operation_id,
        now=now,
        created=True,
    )
    return pks


def _new_values(user_adapter: UserAdapter, verdict: Verdict) -> dict[str, Any]:
    """The field values of a new user, but its password."""
    values = user_adapter.values(verdict.user)
    if user_adapter.username_field and verdict.username is not None:
        values[user_adapter.username_field] = verdict.username
    return values


def _snapshot(verdict: Verdict, values: dict[str, Any], roles: set[str], has_groups: bool) -> dict[str, Any]:
    """What a created user was given: an undo deletes it only while it still looks so."""
    groups = sorted({role for role in verdict.user.roles if role in roles}) if has_groups else None
    return {**values, "groups": groups} if groups else values


def _update_users(verdicts: list[Verdict], user_adapter: UserAdapter) -> None:
    user_adapter.save_values([(v.match, v.values) for v in verdicts])
    user_adapter.change_groups(add=[(v.match, name) for v in verdicts for name in v.add_groups], remove=[])


def _link_and_record(verdicts: list[Verdict], *, operation_id: str, importer_key: str, now: Any) -> None:
    """Link the importIds of matched users to them, and record what happened to each.

    A linked identity keeps no username: a file must not give an existing account a new
    login name (the identity username is one, with a user model that has none)."""
    insert_rows(
        ImportedIdentity,
        ["import_id", "user_id", "username", "data"],
        [(import_id, v.match, "", v.user.extras()) for v in verdicts for import_id in v.link],
        constants={"operation_id": operation_id, "importer_key": importer_key, "created_at": now},
    )
    actions = {UPDATE: ChangeAction.UPDATED, SKIP: ChangeAction.SKIPPED, UNCHANGED: ChangeAction.UNCHANGED}
    _record_changes(
        # Unchanged users are only counted, unless their importIds were linked (an undo unlinks them).
        [(v, v.match, actions[v.outcome], v.changes) for v in verdicts if v.outcome != UNCHANGED or v.link],
        operation_id=operation_id,
        now=now,
    )


def _record_changes(
    rows: Iterable[tuple[Verdict, Any, str, dict[str, Any]]], *, operation_id: str, now: Any, created: bool = False
) -> None:
    """One change row per (verdict, user pk, action, changes). ``created``: the rows are
    created users, which link no importId and replace no password."""
    columns = ["user_id", "action", "import_id", "email", "username", "changes"]
    constants: dict[str, Any] = {"operation_id": operation_id, "created_at": now, "undo": ""}
    if created:  # given once, not encoded row by row
        constants.update(linked=[], password_hashes=None)
    else:
        columns += ["linked", "password_hashes"]
    insert_rows(
        ImportChange,
        columns,
        (
            (
                pk,
                action,
                v.user.import_id[:255],
                v.user.email[:254],
                (v.username or v.user.username)[:255],
                changes,
                *(() if created else (v.link, v.password_hashes)),
            )
            for v, pk, action, changes in rows
        ),
        constants=constants,
    )


def _record_failures(operation_id: str, failed: list[Verdict]) -> None:
    """Failed records keep their error and stay staged, their secrets scrubbed; the error
    report (ImportFailure) keeps them after staging is cleared."""
    if not failed:
        return
    ImportRecord.objects.bulk_update(
        [ImportRecord(pk=v.user.record_id, errors=[v.error], failed=True, secret=None) for v in failed],
        ["errors", "failed", "secret"],
    )
    ImportFailure.objects.bulk_create(
        [
            ImportFailure(
                operation_id=operation_id,
                import_id=v.user.import_id[:255],
                email=v.user.email[:254],
                username=v.user.username[:255],
                code=v.error["message"],
                field=v.error["field"] or "",
                value=str(v.error["value"] or "")[:255],
            )
            for v in failed
            if v.error is not None
        ]
    )


def _announce(operation_id: str, pks: list[Any], user_adapter: UserAdapter) -> None:
    """Send ``users_imported`` with the created users (fetched only when someone listens)."""
    if not users_imported.has_listeners(ImportOperation):
        return
    operation = ImportOperation.objects.get(pk=operation_id)
    users = list(user_adapter.model._default_manager.filter(InArray("pk", pks)).order_by("pk"))
    users_imported.send(sender=ImportOperation, operation=operation, users=users)
