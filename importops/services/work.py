"""Background work a service decided on, handed back to the entry point that called it."""

from __future__ import annotations

from dataclasses import dataclass

from importops.models import ImportOperation


@dataclass(frozen=True)
class Work:
    """What must be queued for ``operation`` once the caller's transaction commits
    (``importops.jobs.enqueue`` queues it): a parse of its file, and ``drains`` drain tasks."""

    operation: ImportOperation
    parse: bool = False
    drains: int = 0
