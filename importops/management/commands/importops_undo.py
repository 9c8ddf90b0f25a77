"""Undo an import from the command line (and wait for it)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from importops.errors import ImportOpsError
from importops.models import ImportOperation
from importops.models.operation import UndoMode
from importops.services import undo
from importops.states import Status
from importops.tasks import enqueue

POLL = 0.5


class Command(BaseCommand):
    help = (
        "Undo the import OPERATION: delete (or, with --mode deactivate, deactivate) the users it "
        "created, restore the fields it updated, unlink the importIds it linked. Users who logged in "
        "or were changed since are kept and listed in the change report (importops_changes). A worker "
        "runs it; --wait follows it to the end."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("operation", help="the operation id")
        parser.add_argument("--mode", choices=UndoMode.values, default=UndoMode.DELETE)
        parser.add_argument("--wait", action="store_true", help="wait until the undo ends")
        parser.add_argument("--timeout", type=float, default=None, help="with --wait: give up after this many seconds")

    def handle(self, *args: Any, operation: str, mode: str, wait: bool, timeout: float | None, **options: Any) -> None:
        try:
            enqueue(undo.undo_start(user=None, operation_id=operation, mode=mode))
        except ImportOpsError as exc:
            raise CommandError(exc.message) from exc
        if not wait:
            self.stdout.write("Started: a worker runs it. Follow it with: python manage.py importops_status --watch")
            return
        started = time.monotonic()
        while (current := ImportOperation.objects.get(pk=operation)).status == Status.UNDOING:
            if timeout is not None and time.monotonic() - started > timeout:
                raise CommandError(f"Timed out; the undo goes on: {current.undo_counts}")
            time.sleep(POLL)
        counts = current.undo_counts
        self.stdout.write(
            "Undone: "
            + ", ".join(f"{counts.get(name, 0)} {name}" for name in undo.COUNTERS)
            + ". The kept users are listed by: python manage.py importops_changes --operation "
            + operation
        )
