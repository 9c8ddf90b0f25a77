"""The worker entry point for Redis + RQ (``django-tasks-rq``): RQ's worker loop, plus crash
recovery.

Runs ``django-rq``'s ``rqworker`` (every option of it is accepted; the queue defaults to
``IMPORTOPS["TASK_QUEUE"]``) with ``Worker`` below, and next to it the recovery sweep of
``importops_worker`` (at start and every ``LEASE_SECONDS / 2``), so a run whose worker was
killed resumes on the others without cron.

The worker outlives Redis outages: at start, and where RQ's own loop would quit on a lost
connection, it waits for Redis with backoff, logging one line when Redis goes and one when
it is back, and goes on. A running drain task needs only the database and carries on
meanwhile. Tasks queued in a Redis that restarts without persistence are lost: the sweep
resumes their runs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from importops import retry
from importops.conf import importops_settings
from importops.management.commands.importops_worker import housekeeping, sweep_once
from importops.services.running import STOPPING

try:
    import django_rq
    import django_tasks_rq
    from django_rq.management.commands import rqworker
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from rq import SimpleWorker
    from rq.exceptions import InvalidJobOperation
    from rq.worker.base import StopRequested
except ImportError as exc:  # pragma: no cover - the "rq" extra
    raise ImportError("importops_rqworker needs django-tasks-rq (pip install django-importops[rq])") from exc

logger = logging.getLogger("importops")

#: Redis is unreachable (down, restarting, the network).
REDIS_FAULTS = (RedisConnectionError, RedisTimeoutError)
redis_outage = retry.Outage("Redis")


def sweep_if_redis_answers() -> None:
    """The sweep queues the tasks that resume a run: while Redis is away they could not be
    queued, and the resume would be counted for nothing. Skip the round; the next one sweeps."""
    try:
        django_rq.get_connection(importops_settings.TASK_QUEUE).ping()
    except REDIS_FAULTS as exc:
        redis_outage.failed(exc, "the recovery sweep")
        return
    redis_outage.recovered()
    sweep_once()


def wait_for_redis_at_start() -> None:
    """RQ's worker exits when Redis does not answer at start: wait for it instead."""
    ping_until_answered(django_rq.get_connection(importops_settings.TASK_QUEUE), "the worker's start")


def ping_until_answered(
    connection: Any, what: str, *, stop: Callable[[], bool] = lambda: False, then: Callable[[], None] | None = None
) -> None:
    """Ping Redis with backoff until it answers (and ``then`` goes through), logging one line
    when it goes and one when it is back; StopRequested as soon as ``stop()`` says so."""
    attempt = 0
    while True:
        if stop():
            raise StopRequested()
        try:
            connection.ping()
            if then is not None:
                then()
        except REDIS_FAULTS as exc:
            redis_outage.failed(exc, what)
            time.sleep(retry.backoff(min(attempt, 10)) + 0.5)
            attempt += 1
            continue
        redis_outage.recovered()
        return


class Job(django_tasks_rq.Job):
    """django-tasks-rq's job, whose result callbacks are skipped when Redis lost the job's
    record while it ran (a restart without persistence): there is no result left to update,
    and the state of the import is in the database."""

    @property
    def success_callback(self) -> Callable[..., Any] | None:
        return _unless_lost(super().success_callback)

    @property
    def failure_callback(self) -> Callable[..., Any] | None:
        return _unless_lost(super().failure_callback)


def _unless_lost(callback: Callable[..., Any] | None) -> Callable[..., Any] | None:
    if callback is None:
        return None

    def call(job: Job, connection: Any, *args: Any) -> None:
        try:
            job.get_status(refresh=True)
        except InvalidJobOperation:
            logger.warning("task %s: Redis lost its record while it ran; no result recorded", job.id)
            return
        callback(job, connection, *args)

    return call


class Worker(SimpleWorker):
    """Runs tasks in the worker process itself, not in a forked child: a SIGTERM (warm
    shutdown) then reaches the running drain task, which hands its lanes back after its
    current batch instead of finishing the whole run; and SIGKILL takes the task down with
    the worker, as the sweep expects of a dead worker."""

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        STOPPING.set()
        super().request_stop(signum, frame)

    # RQ's loop quits on a Redis error anywhere but in its dequeue call; these are the calls
    # it makes to Redis around a job.

    def execute_job(self, job: Any, queue: Any) -> None:
        try:
            super().execute_job(job, queue)
        except REDIS_FAULTS as exc:
            # The task ran, or never started; only its bookkeeping in Redis is lost.
            self.wait_for_redis(exc, f"task {job.id}")

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        self._riding_out(lambda: super(Worker, self).heartbeat(timeout, pipeline), "the heartbeat", pipeline)

    def run_maintenance_tasks(self) -> None:
        self._riding_out(super().run_maintenance_tasks, "maintenance")

    def check_for_suspension(self, burst: bool) -> None:
        self._riding_out(lambda: super(Worker, self).check_for_suspension(burst), "the worker loop")

    def teardown(self) -> None:
        try:
            super().teardown()
        except REDIS_FAULTS as exc:
            logger.warning("worker stopped without unregistering: %s", retry.describe(exc))

    def _riding_out(self, call: Callable[[], None], what: str, pipeline: Any = None) -> None:
        while True:
            try:
                call()
                return
            except REDIS_FAULTS as exc:
                if pipeline is not None:  # part of a larger call: that call waits
                    raise
                self.wait_for_redis(exc, what)

    def wait_for_redis(self, exc: Exception, what: str) -> None:
        """Ping Redis with backoff until it answers (or the worker is told to stop)."""
        redis_outage.failed(exc, what)
        ping_until_answered(
            self.connection, what, stop=lambda: self._stop_requested or STOPPING.is_set(), then=self._known_again
        )

    def _known_again(self) -> None:
        if not self.connection.exists(self.key):  # a restarted Redis has forgotten this worker
            self.register_birth()


class Command(rqworker.Command):
    help = (
        "Run import tasks from Redis: django-rq's rqworker (same options) in-process, plus the importops "
        "recovery sweep at start and every LEASE_SECONDS/2 seconds. It waits out Redis outages. "
        "One or more per machine."
    )

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        # django-tasks-rq's job class runs a task function; RQ's own would call the Task object.
        parser.set_defaults(worker_class=f"{__name__}.Worker", job_class=f"{__name__}.Job")

    def handle(self, *args: Any, **options: Any) -> None:
        wait_for_redis_at_start()
        sweep_if_redis_answers()
        stop = threading.Event()
        thread = threading.Thread(
            target=housekeeping, args=(stop, None, sweep_if_redis_answers), name="importops-sweep", daemon=True
        )
        thread.start()
        try:
            super().handle(*(args or [importops_settings.TASK_QUEUE]), **options)
        finally:
            stop.set()
