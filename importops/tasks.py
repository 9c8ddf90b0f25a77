"""Background tasks, and the one place that queues them.

Services never queue tasks: they decide what must run and return it as a ``Work``
(``importops.services.work``); the entry point that called them passes it to ``enqueue``.
The task definitions and ``enqueue`` share this module because a drain task queues the
work its recovery sweep hands back.
"""

from __future__ import annotations

import logging

from django.db import transaction

from importops import retry
from importops.compat import task
from importops.conf import importops_settings
from importops.services import parsing, recovery, running, undo
from importops.services.work import Work

logger = logging.getLogger("importops")


@task()
def drain_import(operation_id: str) -> None:
    """Import staged users of a running operation, batch by batch (see services.running)."""
    recover()
    running.drain(operation_id=operation_id)


@task()
def parse_import_file(operation_id: str) -> None:
    """Parse an uploaded file into staged records (see services.parsing)."""
    parsing.file_parse(operation_id=operation_id)


@task()
def undo_import(operation_id: str) -> None:
    """Undo what a finished import did (see services.undo)."""
    undo.undo_run(operation_id=operation_id)


def enqueue(*work: Work | None) -> None:
    """Queue the tasks of ``work`` once the current transaction commits."""
    todo = [item for item in work if item is not None and (item.parse or item.drains or item.undo)]

    def queue() -> None:
        options = {"backend": importops_settings.TASK_BACKEND, "queue_name": importops_settings.TASK_QUEUE}
        for item in todo:
            try:
                if item.parse:
                    parse_import_file.using(**options).enqueue(item.operation.pk)
                if item.undo:
                    undo_import.using(**options).enqueue(item.operation.pk)
                drain = drain_import.using(**options)
                for _ in range(item.drains):
                    drain.enqueue(item.operation.pk)
            except Exception as exc:
                if not queue_unavailable(exc):
                    raise
                # The state change is committed: the recovery sweep finds the work nobody
                # holds and queues it again once the queue answers (within LEASE_SECONDS).
                logger.warning(
                    "could not queue the work of %s (%s): the recovery sweep queues it again",
                    item.operation.pk,
                    retry.describe(exc),
                )

    if todo:
        transaction.on_commit(queue)


def queue_unavailable(exc: BaseException) -> bool:
    """A task queue that does not answer (Redis away, the database away) rather than a bug."""
    names = {(cls.__module__.split(".")[0], cls.__name__) for cls in type(exc).__mro__}
    return retry.is_transient(exc) or bool(names & {("redis", "ConnectionError"), ("redis", "TimeoutError")})


def recover(*, deadline: float | None = None) -> list[str]:
    """Run the recovery sweep and queue what it resumes. Returns the ids acted on. A passing
    database fault is retried until ``deadline`` seconds (RETRY_DEADLINE)."""
    work = retry.unit(recovery.sweep, what="the recovery sweep", deadline=deadline)
    enqueue(*work)
    return [item.operation.pk for item in work]
