"""The worker entry point: the task backend's worker loop, plus crash recovery.

Runs ``django-tasks-db``'s ``db_worker`` (every option of it is accepted) and, next to it, the
recovery sweep: once at start and then every ``LEASE_SECONDS / 2`` seconds, so a run whose
worker was killed resumes as soon as any worker runs.

The worker outlives database outages: when the database goes away (or is not there at
start) the loop waits for it with backoff, logging one line when it goes and one when it is
back, then picks up where it was. ``--heartbeat FILE`` has the worker touch FILE every few
seconds, for ``importops_health --worker FILE``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from django.core.management.base import CommandError
from django.db import close_old_connections, connection

from importops import retry
from importops.conf import importops_settings
from importops.services.running import STOPPING
from importops.tasks import recover

try:
    from django_tasks_db.management.commands import db_worker
except ImportError as exc:  # pragma: no cover - django-tasks-db is a dependency
    raise ImportError("importops_worker needs django-tasks-db") from exc

logger = logging.getLogger("importops")

HEARTBEAT_SECONDS = 5.0


def sweep_once() -> None:
    try:
        recover(deadline=0)  # one attempt: the next round is the retry, and heartbeats go on
    except Exception as exc:  # noqa: BLE001 - keep sweeping; the next round retries
        if not retry.is_transient(exc):
            logger.exception("recovery sweep failed")
    else:
        retry.outage.recovered()
    finally:
        close_old_connections()
        connection.close()


def housekeeping(stop: threading.Event, heartbeat: Path | None, sweep: Callable[[], None] | None = None) -> None:
    """Beat every few seconds; sweep (``sweep_once`` unless told otherwise) every LEASE_SECONDS / 2."""
    interval = max(1.0, importops_settings.LEASE_SECONDS / 2)
    next_sweep = time.monotonic() + interval
    while not stop.wait(min(HEARTBEAT_SECONDS, interval)):
        if heartbeat is not None:
            heartbeat.touch()
        if time.monotonic() >= next_sweep:
            (sweep or sweep_once)()
            next_sweep = time.monotonic() + interval


def wait_for_database(worker: db_worker.Worker) -> None:
    """Probe the database with backoff until it answers (or the worker is told to stop)."""
    attempt = 0
    while worker.running:
        retry.reset_connection()
        try:
            connection.ensure_connection()
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception as exc:
            if not retry.is_transient(exc):
                raise
            retry.outage.failed(exc, "the worker loop")
            time.sleep(retry.backoff(min(attempt, 10)) + 0.5)
            attempt += 1
            continue
        retry.outage.recovered()
        return


class Worker(db_worker.Worker):
    def shutdown(self, signum: int, frame: FrameType | None) -> None:
        STOPPING.set()  # a running drain task hands its lanes back after its current batch
        super().shutdown(signum, frame)

    def run(self) -> None:
        """db_worker's loop; a transient database fault does not end it: wait, then go on."""
        while True:
            try:
                super().run()
                return
            except Exception as exc:
                if not retry.is_transient(exc):
                    raise
                retry.outage.failed(exc, "the worker loop")
                self.startup_delay = False
                wait_for_database(self)
                if not self.running:
                    return


class Command(db_worker.Command):
    help = (
        "Run import tasks: django-tasks-db's worker loop (same options as db_worker, without "
        "--reload) plus the importops recovery sweep at start and every LEASE_SECONDS/2 seconds. "
        "It waits out database outages. This is the command to run in production, one or more "
        "per machine."
    )

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--heartbeat",
            metavar="FILE",
            help=f"touch FILE every {HEARTBEAT_SECONDS:.0f} s (for importops_health --worker FILE)",
        )
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
        beat = Path(options["heartbeat"]) if options["heartbeat"] else None
        if beat is not None:
            beat.touch()
        sweep_once()
        stop = threading.Event()
        thread = threading.Thread(target=housekeeping, args=(stop, beat), name="importops-sweep", daemon=True)
        thread.start()
        try:
            worker.configure_signals()
            worker.run()
        finally:
            stop.set()
