"""The worker entry point for Redis + RQ (``django-tasks-rq``): RQ's worker loop, plus crash
recovery.

Runs ``django-rq``'s ``rqworker`` (every option of it is accepted; the queue defaults to
``IMPORTOPS["TASK_QUEUE"]``) with ``Worker`` below, and next to it the recovery sweep of
``importops_worker`` (at start and every ``LEASE_SECONDS / 2``), so a run whose worker was
killed resumes on the others without cron.
"""

from __future__ import annotations

import threading
from types import FrameType
from typing import Any

from importops.conf import importops_settings
from importops.management.commands.importops_worker import housekeeping, sweep_once
from importops.services.running import STOPPING

try:
    from django_rq.management.commands import rqworker
    from rq import SimpleWorker
except ImportError as exc:  # pragma: no cover - the "rq" extra
    raise ImportError("importops_rqworker needs django-tasks-rq (pip install django-importops[rq])") from exc


class Worker(SimpleWorker):
    """Runs tasks in the worker process itself, not in a forked child: a SIGTERM (warm
    shutdown) then reaches the running drain task, which hands its lanes back after its
    current batch instead of finishing the whole run; and SIGKILL takes the task down with
    the worker, as the sweep expects of a dead worker."""

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        STOPPING.set()
        super().request_stop(signum, frame)


class Command(rqworker.Command):
    help = (
        "Run import tasks from Redis: django-rq's rqworker (same options) in-process, plus the importops "
        "recovery sweep at start and every LEASE_SECONDS/2 seconds. One or more per machine."
    )

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        # django-tasks-rq's job class runs a task function; RQ's own would call the Task object.
        parser.set_defaults(worker_class=f"{__name__}.Worker", job_class="django_tasks_rq.Job")

    def handle(self, *args: Any, **options: Any) -> None:
        sweep_once()
        stop = threading.Event()
        thread = threading.Thread(target=housekeeping, args=(stop, None), name="importops-sweep", daemon=True)
        thread.start()
        try:
            super().handle(*(args or [importops_settings.TASK_QUEUE]), **options)
        finally:
            stop.set()
