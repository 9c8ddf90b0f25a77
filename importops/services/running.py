"""Running an import: start, drain in batches, finish or fail (DESIGN: "Background work", "Batches").

A run has ``PARALLELISM`` lanes (see ``ImportLane``). ``run_start`` queues one drain task per
lane. A drain task takes any free lane (or one whose lease expired), then repeats: claim a
batch of pending records for the lane (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), read and
hash their passwords *outside* any transaction, then commit the batch in one short
transaction that holds the operation row FOR SHARE, re-checks the run is still going, and
creates users, group memberships and imported identities in bulk. The last lane to finish
marks the operation done.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
import uuid
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, connection, connections, transaction
from django.db.models import BooleanField, ExpressionWrapper, F, Q
from django.utils import timezone

from importops import errors
from importops.conf import importops_settings
from importops.importers import registry
from importops.models import ImportedIdentity, ImportFailure, ImportLane, ImportOperation, ImportRecord
from importops.models.record import DataType
from importops.services import recovery
from importops.services.audit import CHANGE, audit
from importops.services.bulk import InArray, insert_rows
from importops.services.judge import STAGED_ROW_FIELDS, StagedRow, Verdict, judge
from importops.services.locks import operation_share_lock
from importops.signals import users_imported
from importops.states import IMPORTING, LOADING, Status
from importops.users import StagedUser, UserAdapter

logger = logging.getLogger("importops")

#: Set when the worker process is asked to stop: lanes are handed back between batches
#: (the sweep resumes the run), instead of the shutdown waiting for a whole drain task.
STOPPING = threading.Event()

FIRST_BATCH_SIZE = 16
MAX_BATCH_GROWTH = 4
INTEGRITY_RETRIES = 3


def adapter() -> UserAdapter:
    return importops_settings.USER_ADAPTER()  # type: ignore[no-any-return]


def lease() -> timedelta:
    return timedelta(seconds=importops_settings.LEASE_SECONDS)


# -- starting -------------------------------------------------------------------------


def run_start(*, user: Any) -> ImportOperation:
    """``import.run``: move the latest valid operation from ready to importing and queue it."""
    with transaction.atomic():
        operation = ImportOperation.objects.latest_first().first()
        if operation is None or not operation.valid:
            raise errors.OperationNotFound()
        if operation.status != Status.USER_SELECTION:
            raise errors.InvalidOperationStatus()
        if registry.get(operation.importer_key) is None:
            raise errors.ImporterNotDefined()
        now = timezone.now()
        started = ImportOperation.objects.filter(pk=operation.pk, valid=True, status=Status.USER_SELECTION).update(
            status=Status.IMPORTING_STARTED, started_at=now, updated_at=now
        )
        if not started:  # a concurrent import.run won
            raise errors.InvalidOperationStatus()
        lanes = importops_settings.PARALLELISM
        ImportLane.objects.bulk_create(
            [ImportLane(operation=operation, number=n, updated_at=now) for n in range(lanes)]
        )
        audit(user=user, obj=operation, action=CHANGE, message="Started the import")
        enqueue_drains(operation_id=operation.pk, count=lanes)
    logger.info("run started id=%s lanes=%s", operation.pk, lanes)
    return operation


def enqueue_drains(*, operation_id: str, count: int) -> None:
    """Queue ``count`` drain tasks once the current transaction commits."""
    from importops.tasks import drain_import

    def enqueue() -> None:
        task = drain_import.using(backend=importops_settings.TASK_BACKEND, queue_name=importops_settings.TASK_QUEUE)
        for _ in range(count):
            task.enqueue(operation_id)

    transaction.on_commit(enqueue)


# -- draining -------------------------------------------------------------------------


def drain(*, operation_id: str) -> None:
    """The body of a drain task: work lanes of the run until none is left to take.

    Up to DRAIN_THREADS lanes are worked at once, one per thread: while one thread waits
    for the database, another prepares its batch. (SQLite has one writer at a time: one.)
    """
    recovery.sweep()
    failures: list[BaseException] = []

    def work(own_connection: bool) -> None:
        try:
            _drain_lanes(operation_id)
        except Exception as exc:
            failures.append(exc)
            logger.exception("import run failed id=%s", operation_id)
            run_fail(operation_id=operation_id, reason=f"{type(exc).__name__}: {exc}", details=traceback.format_exc())
        finally:
            if own_connection:
                connections.close_all()

    helpers = [threading.Thread(target=work, args=(True,), name=f"importops-drain-{n}") for n in range(_threads() - 1)]
    for helper in helpers:
        helper.start()
    work(False)
    for helper in helpers:
        helper.join()
    if failures:
        raise failures[0]
    run_finish_if_complete(operation_id=operation_id)


def _threads() -> int:
    if connection.vendor == "sqlite":
        return 1
    return max(1, importops_settings.DRAIN_THREADS)


def _drain_lanes(operation_id: str) -> None:
    holder = uuid.uuid4().hex
    while (lane := _lane_take(operation_id, holder)) is not None:
        logger.info("took lane %s of run %s", lane.number, operation_id)
        ImportOperation.objects.filter(pk=operation_id, status=Status.IMPORTING_STARTED).update(
            status=Status.IMPORTING_USERS, updated_at=timezone.now()
        )
        if not _lane_drain(lane, holder):
            return


def _takeable(now: Any) -> Q:
    return Q(holder="") | Q(lease_expires_at__lt=now)


def _lane_take(operation_id: str, holder: str) -> ImportLane | None:
    """Take a free lane of a running operation, or one whose holder's lease expired."""
    now = timezone.now()
    candidates = ImportLane.objects.filter(
        _takeable(now),
        operation_id=operation_id,
        finished=False,
        operation__valid=True,
        operation__status__in=IMPORTING,
    ).order_by("number")
    for lane_id in candidates.values_list("pk", flat=True):
        taken = ImportLane.objects.filter(_takeable(now), pk=lane_id, finished=False).update(
            holder=holder, lease_expires_at=now + lease()
        )
        if taken:
            return ImportLane.objects.get(pk=lane_id)
    return None


def _lane_drain(lane: ImportLane, holder: str) -> bool:
    """Process the lane's batches. True when it ran out of work, False when stopped."""
    size = min(FIRST_BATCH_SIZE, importops_settings.BATCH_SIZE)
    user_adapter = adapter()
    while True:
        if STOPPING.is_set():
            logger.info("worker stopping: handing lane %s of run %s back", lane.number, lane.operation_id)
            ImportLane.objects.filter(pk=lane.pk, holder=holder).update(holder="", lease_expires_at=None)
            return False
        started = time.monotonic()
        committed = _step(lane, holder, size, user_adapter)
        if committed is None:
            ImportLane.objects.filter(pk=lane.pk, holder=holder).update(holder="", lease_expires_at=None)
            return False
        if committed == 0:
            finished = ImportLane.objects.filter(pk=lane.pk, holder=holder).update(
                finished=True, holder="", lease_expires_at=None
            )
            return bool(finished)
        size = _next_size(size, committed, time.monotonic() - started)


def _next_size(size: int, committed: int, seconds: float) -> int:
    """Size batches by time, so progress moves every few seconds even when hashing."""
    limit = importops_settings.BATCH_SIZE
    if committed < size:  # the time budget cut the batch: it is as big as it should be
        return max(1, committed)
    budget = importops_settings.BATCH_TIME_BUDGET
    fitting = int(budget * committed / seconds) if seconds > 0 else limit
    return max(1, min(fitting, size * MAX_BATCH_GROWTH, limit))


def _step(lane: ImportLane, holder: str, size: int, user_adapter: UserAdapter) -> int | None:
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
        pending = ImportRecord.objects.filter(
            operation_id=lane.operation_id, data_type=DataType.USER, failed=False, skipped=False
        ).order_by("id")
        ids = list(pending.filter(lane=lane).values_list("id", flat=True)[:size])
        if not ids:
            needs_hashing = ExpressionWrapper(Q(secret__has_key="password"), output_field=BooleanField())  # noqa: S106
            candidates = list(
                pending.filter(lane__isnull=True)
                .select_for_update(skip_locked=True)
                .annotate(needs_hashing=needs_hashing)
                .values_list("id", "needs_hashing")[:size]
            )
            if not candidates:
                return 0
            ids = [pk for pk, _ in candidates]
            if not any(hashing for _, hashing in candidates):
                return _batch(lane, holder, ids, user_adapter, claimed=False)
            ImportRecord.objects.filter(InArray("id", ids)).update(lane=lane)
    return _batch(lane, holder, ids, user_adapter, claimed=True)


def _batch(lane: ImportLane, holder: str, ids: list[int], user_adapter: UserAdapter, *, claimed: bool) -> int | None:
    """Import (a prefix of) one batch: how many records were committed, or None when the
    run was stopped or the lease lost. ``claimed`` records belong to the lane; others are
    locked by the caller's transaction.

    Passwords are hashed before the batch's transaction, and only until the time budget is
    spent; claimed records left over stay with the lane and go first in its next batch.
    """
    owner = {"lane": lane} if claimed else {"lane__isnull": True}
    rows = ImportRecord.objects.filter(InArray("id", ids), failed=False, **owner).order_by("id")
    deadline = time.monotonic() + importops_settings.BATCH_TIME_BUDGET
    passwords: dict[int, str] = {}
    checked: dict[int, tuple[StagedUser, dict[str, Any] | None]] = {}
    taken: list[StagedRow] = []
    for row in rows.values_list(*STAGED_ROW_FIELDS, named=True):
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
        verdicts = judge(operation_id=operation_id, records=rows, adapter=user_adapter, checked=checked)
        created = _create_users(operation_id, [v for v in verdicts if v.error is None], user_adapter, passwords, now)
        failed = [v for v in verdicts if v.error is not None]
        _record_failures(operation_id, failed)
        done = [v.user.record_id for v in verdicts if v.error is None]
        if done:
            ImportRecord.objects.filter(InArray("id", done)).delete()
        ImportLane.objects.filter(pk=lane.pk).update(
            completed=F("completed") + len(created), error=F("error") + len(failed), updated_at=now
        )
        if created:
            transaction.on_commit(lambda: _announce(operation_id, created))
    return True


def _still_running(operation_id: str) -> bool:
    """Lock the operation row shared (until the transaction ends) and check it still runs."""
    locked = operation_share_lock(operation_id)
    return locked is not None and locked[0] in IMPORTING and locked[1]


def _create_users(
    operation_id: str, verdicts: list[Verdict], user_adapter: UserAdapter, passwords: dict[int, str], now: Any
) -> list[Any]:
    if not verdicts:
        return []
    importer_key = ImportOperation.objects.filter(pk=operation_id).values_list("importer_key", flat=True).get()
    pairs = [
        (v.user, user_adapter.build(v.user, username=v.username, password=passwords[v.user.record_id]))
        for v in verdicts
    ]
    users = user_adapter.create(pairs)
    insert_rows(
        ImportedIdentity,
        ["import_id", "user_id", "data"],
        [
            (import_id, instance.pk, staged.extras())
            for staged, instance in pairs
            for import_id in dict.fromkeys(staged.import_ids)
        ],
        constants={"operation_id": operation_id, "importer_key": importer_key, "created_at": now},
    )
    return users


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
                import_id=(v.user.import_ids or [""])[0][:255],
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


def _announce(operation_id: str, users: list[Any]) -> None:
    operation = ImportOperation.objects.get(pk=operation_id)
    users_imported.send(sender=ImportOperation, operation=operation, users=users)


# -- ending ---------------------------------------------------------------------------


def run_finish_if_complete(*, operation_id: str) -> bool:
    """Mark the run done once every lane has finished. True if this call finished it."""
    with transaction.atomic():
        if ImportLane.objects.filter(operation_id=operation_id, finished=False).exists():
            return False
        now = timezone.now()
        done = (
            ImportOperation.objects.importing()
            .filter(pk=operation_id)
            .update(status=Status.DONE, finished_at=now, updated_at=now)
        )
        if done:
            # Users left unselected were never processed: their secrets go now.
            ImportRecord.objects.filter(operation_id=operation_id, secret__isnull=False).update(secret=None)
    if done:
        logger.info("run done id=%s", operation_id)
    return bool(done)


def run_fail(*, operation_id: str, reason: str, details: str = "") -> bool:
    """End a loading or importing operation in ``importer_import_failed`` with its reason."""
    now = timezone.now()
    failed = ImportOperation.objects.filter(pk=operation_id, status__in=IMPORTING | LOADING).update(
        status=Status.FAILED,
        failure_reason=reason[:2000],
        failure_traceback=details,
        finished_at=now,
        updated_at=now,
    )
    if failed:
        logger.error("operation failed id=%s reason=%s", operation_id, reason)
    return bool(failed)
