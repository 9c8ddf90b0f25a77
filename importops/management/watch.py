"""Following an operation until it finishes, with a progress bar (shared by commands)."""

from __future__ import annotations

import time
from typing import TextIO

from django.core.management.base import OutputWrapper

from importops.management.progress import ProgressBar
from importops.models import ImportOperation
from importops.states import FINISHED, State

POLL = 0.5
NO_WORKER_HINT_AFTER = 15.0


def follow(
    operation_id: str, stream: OutputWrapper | TextIO, *, timeout: float | None = None, tty: bool | None = None
) -> ImportOperation:
    """Poll until the operation finishes (or ``timeout`` passes); return its last state."""
    bar = ProgressBar(stream, label="importing", tty=tty)
    started = time.monotonic()
    hinted = False
    while True:
        operation = ImportOperation.objects.with_progress().get(pk=operation_id)
        completed, failed = operation.progress()
        done = completed + failed
        note = f"({failed:,} failed)" if failed else ""
        if (
            not hinted
            and done == 0
            and operation.state == State.IMPORTING
            and time.monotonic() - started > NO_WORKER_HINT_AFTER
        ):
            note = "(waiting for a worker: python manage.py importops_worker)"
            hinted = True
        bar.update(done, operation.count_total, note=note)
        if operation.status in FINISHED or not operation.valid:
            bar.finish()
            return operation
        if timeout is not None and time.monotonic() - started > timeout:
            bar.finish("timed out")
            return operation
        time.sleep(POLL)
