"""The worker entry point: the task backend's worker loop, plus crash recovery.

Runs ``django-tasks-db``'s ``db_worker`` (every option of it is accepted) and, next to it, the
recovery sweep: once at start and then every ``LEASE_SECONDS / 2`` seconds, so a run whose
worker was killed resumes as soon as any worker runs.
"""

from __future__ import annotations

import logging
import threading
from types import FrameType
from typing import Any

from django.core.management.base import CommandError
from django.db import close_old_connections, connection

from importops.conf import importops_settings
from importops.services.running import STOPPING
from importops.tasks import recover

try:
    from django_tasks_db.management.commands import db_worker
except ImportError as exc:  # pragma: no cover - django-tasks-db is a dependency
    raise ImportError("importops_worker needs django-tasks-db") from exc

logger = logging.getLogger("importops")


def sweep_once() -> None:
    try:
        recover()
    except Exception:  # noqa: BLE001 - keep sweeping; the next round retries
        logger.exception("recovery sweep failed")
    finally:
        close_old_connections()
        connection.close()


def sweep_forever(stop: threading.Event) -> None:
    interval = max(1.0, importops_settings.LEASE_SECONDS / 2)
    while not stop.wait(interval):
        sweep_once()


class Worker(db_worker.Worker):
    def shutdown(self, signum: int, frame: FrameType | None) -> None:
        STOPPING.set()  # a running drain task hands its lanes back after its current batch
        super().shutdown(signum, frame)


class Command(db_worker.Command):
    help = (
        "Run import tasks: django-tasks-db's worker loop (same options as db_worker, without "
        "--reload) plus the importops recovery sweep at start and every LEASE_SECONDS/2 seconds. "
        "This is the command to run in production, one or more per machine."
    )

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        # The backend importops enqueues to; no reloader (restarting on a code change would cut
        # a batch short).
        parser.set_defaults(backend_name=importops_settings.TASK_BACKEND, reload=False)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["reload"]:
            raise CommandError("importops_worker does not reload; for development, use db_worker --reload.")
        self.configure_logging(options["verbosity"])
        queue_names = options["queue_name"].split(",")
        excluded = options["exclude_queues"].split(",") if options["exclude_queues"] else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        # Built here rather than by db_worker's handle(), so that no module-level name of
        # django-tasks-db has to be swapped for importops' Worker.
        worker = Worker(
            queue_names=queue_names,
            excluded_queue_names=excluded,
            interval=options["interval"],
            batch=options["batch"],
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
        )
        sweep_once()
        stop = threading.Event()
        thread = threading.Thread(target=sweep_forever, args=(stop,), name="importops-sweep", daemon=True)
        thread.start()
        try:
            worker.configure_signals()
            worker.run()
        finally:
            stop.set()
