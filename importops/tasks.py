"""Background tasks, and the one place that queues them.

Services never queue tasks: they decide what must run and return it as a ``Work``
(``importops.services.work``); the entry point that called them passes it to ``enqueue``.
The task definitions and ``enqueue`` share this module because a drain task queues the
work its recovery sweep hands back.
"""

from __future__ import annotations

from django.db import transaction

from importops.compat import task
from importops.conf import importops_settings
from importops.services import parsing, recovery, running, undo
from importops.services.work import Work


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
            if item.parse:
                parse_import_file.using(**options).enqueue(item.operation.pk)
            if item.undo:
                undo_import.using(**options).enqueue(item.operation.pk)
            drain = drain_import.using(**options)
            for _ in range(item.drains):
                drain.enqueue(item.operation.pk)

    if todo:
        transaction.on_commit(queue)


def recover() -> list[str]:
    """Run the recovery sweep and queue what it resumes. Returns the ids acted on."""
    work = recovery.sweep()
    enqueue(*work)
    return [item.operation.pk for item in work]
