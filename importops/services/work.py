"""Background work a service decided on, handed back to the entry point that called it."""

from __future__ import annotations

from dataclasses import dataclass

from importops.models import ImportOperation


@dataclass(frozen=True)
class Work:
    """What must be queued for ``operation`` once the caller's transaction commits
    (``importops.tasks.enqueue`` queues it): a parse of its file, ``drains`` drain tasks, an
    undo."""

    operation: ImportOperation
    parse: bool = False
    drains: int = 0
    undo: bool = False
