"""Running an import: start, drain lane by lane, finish or fail (docs/architecture.md,
"How an import run flows").

A run has ``PARALLELISM`` lanes (see ``ImportLane``). ``run_start`` asks for one drain task
per lane. A drain task works up to DRAIN_THREADS lanes at once; a lane is taken when free or
when its holder's lease expired, and processed batch by batch (``importops.services.batches``)
with batch sizes adapted to time. The last lane to finish marks the operation done.
"""

from __future__ import annotations

import gc
import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from django.db import connection, connections, transaction
from django.db.models import Q
from django.utils import timezone

from importops import errors, retry
from importops.conf import importops_settings
from importops.importers import registry
from importops.models import ImportLane, ImportOperation, ImportRecord
from importops.models.operation import ExistingUsers
from importops.services import batches
from importops.services.audit import CHANGE, audit
from importops.services.batches import lease
from importops.services.work import Work
from importops.states import IMPORTING, LOADING, Status
from importops.users import UserAdapter

logger = logging.getLogger("importops")

#: Set when the worker process is asked to stop: lanes are handed back between batches
#: (the sweep resumes the run), instead of the shutdown waiting for a whole drain task.
STOPPING = threading.Event()

#: Named in the log with the process id: which machine's worker took a lane.
HOST = socket.gethostname()

FIRST_BATCH_SIZE = 16
MAX_BATCH_GROWTH = 4


def adapter() -> UserAdapter:
    return importops_settings.USER_ADAPTER()


# -- starting -------------------------------------------------------------------------


def run_start(*, user: Any, existing_users: str = ExistingUsers.FAIL, update_passwords: bool = False) -> Work:
    """``import.run``: move the latest valid operation from ready to importing; its drain
    tasks are the work returned.

    ``existing_users`` is the policy for staged users that match an existing user;
    ``update_passwords`` lets an update replace their passwords.
    """
    with transaction.atomic():
        operation = ImportOperation.objects.latest_or_raise(errors.OperationNotFound)
        if operation.status != Status.USER_SELECTION:
            raise errors.InvalidOperationStatus()
        if registry.get(operation.importer_key) is None:
            raise errors.ImporterNotDefined()
        now = timezone.now()
        started = ImportOperation.objects.filter(valid=True).transition(
            operation.pk,
            source=Status.USER_SELECTION,
            at=now,
            status=Status.IMPORTING_STARTED,
            started_at=now,
            existing_users=existing_users,
            update_passwords=update_passwords,
        )
        if not started:  # a concurrent import.run won
            raise errors.InvalidOperationStatus()
        lanes = importops_settings.PARALLELISM
        ImportLane.objects.bulk_create(
            [ImportLane(operation=operation, number=n, updated_at=now) for n in range(lanes)]
        )
        policy = "" if existing_users == ExistingUsers.FAIL else f" (existing users: {existing_users})"
        audit(user=user, obj=operation, action=CHANGE, message=f"Started the import{policy}")
    logger.info("run started id=%s lanes=%s", operation.pk, lanes)
    return Work(operation, drains=lanes)


# -- draining -------------------------------------------------------------------------


def drain(*, operation_id: str) -> None:
    """The body of a drain task: work lanes of the run until none is left to take.

    Up to DRAIN_THREADS lanes are worked at once, one per thread: while one thread waits
    for the database, another prepares its batch. (SQLite has one writer at a time: one.)
    """
    failures: list[BaseException] = []

    def work(own_connection: bool) -> None:
        try:
            _drain_lanes(operation_id)
        except Exception as exc:
            failures.append(exc)
            logger.exception("import run failed id=%s", operation_id)
            reason = exc.message if isinstance(exc, errors.DatabaseUnavailable) else f"{type(exc).__name__}: {exc}"
            fail = partial(run_fail, operation_id=operation_id, reason=reason, details=traceback.format_exc())
            retry.unit(fail, what="failing a run")
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
    retry.unit(partial(run_finish_if_complete, operation_id=operation_id), what="finishing a run")


def _threads() -> int:
    if connection.vendor == "sqlite":
        return 1
    return max(1, importops_settings.DRAIN_THREADS)


def _drain_lanes(operation_id: str) -> None:
    holder = uuid.uuid4().hex
    while (lane := retry.unit(partial(_lane_take, operation_id, holder), what="taking a lane")) is not None:
        logger.info("took lane %s of run %s (process %s on %s)", lane.number, operation_id, os.getpid(), HOST)
        importing = partial(
            ImportOperation.objects.transition,
            operation_id,
            source=Status.IMPORTING_STARTED,
            status=Status.IMPORTING_USERS,
        )
        retry.unit(importing, what="marking a run as importing")
        if not _lane_drain(lane, holder):
            return


def _takeable(now: Any, holder: str) -> Q:
    # A lane this holder already took is takeable again: a claim whose answer was lost in
    # a database fault is retried, and must find the lane it took.
    return Q(holder="") | Q(lease_expires_at__lt=now) | Q(holder=holder)


def _lane_take(operation_id: str, holder: str) -> ImportLane | None:
    """Take a free lane of a running operation, or one whose holder's lease expired."""
    now = timezone.now()
    candidates = ImportLane.objects.filter(
        _takeable(now, holder),
        operation_id=operation_id,
        finished=False,
        operation__valid=True,
        operation__status__in=IMPORTING,
    ).order_by("number")
    for lane_id in candidates.values_list("pk", flat=True):
        taken = ImportLane.objects.filter(_takeable(now, holder), pk=lane_id, finished=False).update(
            holder=holder, lease_expires_at=now + lease()
        )
        if taken:
            return ImportLane.objects.get(pk=lane_id)
    return None


def _lane_drain(lane: ImportLane, holder: str) -> bool:
    """Process the lane's batches. True when it ran out of work, False when stopped."""
    size = min(FIRST_BATCH_SIZE, importops_settings.BATCH_SIZE)
    before: tuple[int, float] | None = None
    user_adapter = adapter()
    mine = ImportLane.objects.filter(pk=lane.pk, holder=holder)
    hand_back = partial(mine.update, holder="", lease_expires_at=None)
    while True:
        if STOPPING.is_set():
            logger.info("worker stopping: handing lane %s of run %s back", lane.number, lane.operation_id)
            retry.unit(hand_back, what="handing a lane back")
            return False
        started = time.monotonic()
        with collector_paused():
            committed = retry.unit(partial(batches.batch_step, lane, holder, size, user_adapter), what="a batch")
        if committed is None:
            retry.unit(hand_back, what="handing a lane back")
            return False
        if committed == 0:
            retry.unit(partial(mine.update, finished=True, holder="", lease_expires_at=None), what="finishing a lane")
            return True
        seconds = time.monotonic() - started
        size, before = _next_size(size, committed, seconds, before), (committed, seconds)


def _next_size(size: int, committed: int, seconds: float, before: tuple[int, float] | None = None) -> int:
    """Size batches by time, so progress moves every few seconds even when hashing.

    The time a batch takes is partly per user and partly per batch (a lookup that scans the
    user table takes as long for 16 users as for 5,000). Two batches of different sizes
    tell them apart: only the per-user part limits the size, and a per-batch cost makes
    batches grow, which spreads it over more users. ``before``: (committed, seconds) of the
    lane's previous batch.
    """
    limit = importops_settings.BATCH_SIZE
    if committed < size:  # the time budget cut the batch: it is as big as it should be
        return max(1, committed)
    per_user = seconds / committed
    if before is not None and before[0] != committed:
        per_user = max(0.0, min(per_user, (seconds - before[1]) / (committed - before[0])))
    fitting = int(importops_settings.BATCH_TIME_BUDGET / per_user) if per_user > 0 else limit
    return max(1, min(fitting, size * MAX_BATCH_GROWTH, limit))


_paused = 0
_pause_lock = threading.Lock()
_resume_collector = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a batch runs (in any thread), as it was
    after. A batch holds tens of thousands of young objects that outlive the collector's
    early generations and pull full collections over the whole process (measured: about an
    eighth of a batch's Python time); they are freed by reference counting when it ends,
    and a batch leaves a few hundred objects in cycles at most, collected when it runs again."""
    global _paused, _resume_collector
    with _pause_lock:
        if _paused == 0:
            _resume_collector = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _pause_lock:
            _paused -= 1
            if _paused == 0 and _resume_collector:
                gc.enable()


# -- ending ---------------------------------------------------------------------------


def run_finish_if_complete(*, operation_id: str) -> bool:
    """Mark the run done once every lane has finished, or has nothing left to do. True if
    this call finished it.

    A lane whose holder died after the last records were taken (by it or by other lanes)
    would otherwise hold the run until its lease lapsed: when no user record of the run is
    left (records a batch holds stay visible until it commits, those a dead lane had claimed
    until it is resumed), the lanes still open are finished here.
    """
    with transaction.atomic():
        unfinished = ImportLane.objects.filter(operation_id=operation_id, finished=False)
        if unfinished.exists():
            importing = ImportOperation.objects.importing().filter(pk=operation_id).exists()
            if not importing or batches.pending_users(operation_id).exists():
                return False
            unfinished.update(finished=True, holder="", lease_expires_at=None)
        now = timezone.now()
        done = ImportOperation.objects.importing().transition(operation_id, at=now, status=Status.DONE, finished_at=now)
        if done:
            # Users left unselected were never processed: their secrets go now.
            ImportRecord.objects.filter(operation_id=operation_id, secret__isnull=False).update(secret=None)
    if done:
        logger.info("run done id=%s", operation_id)
    return bool(done)


def run_fail(*, operation_id: str, reason: str, details: str = "") -> bool:
    """End a loading or importing operation in ``importer_import_failed`` with its reason."""
    now = timezone.now()
    with transaction.atomic():
        failed = ImportOperation.objects.transition(
            operation_id,
            source=IMPORTING | LOADING,
            at=now,
            status=Status.FAILED,
            failure_reason=reason[:2000],
            failure_traceback=details,
            finished_at=now,
        )
        if failed:  # a failed run's records stay for the error report, their secrets do not
            ImportRecord.objects.filter(operation_id=operation_id, secret__isnull=False).update(secret=None)
    if failed:
        logger.error("operation failed id=%s reason=%s", operation_id, reason)
    return bool(failed)
