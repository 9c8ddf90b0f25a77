"""What the detail page shows about a run: progress, rate, ETA, and the error breakdown."""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.utils import timezone

from importops.models import ImportFailure, ImportOperation
from importops.states import FINISHED, Status
from importops.timestamps import timestamp

SAMPLES_PER_CODE = 3


def progress(operation: ImportOperation) -> dict[str, Any]:
    """Counts, percent, rate (users/s) and ETA (s) of an operation, as JSON-ready values."""
    completed, failed = operation.progress()
    total = operation.count_total
    done = completed + failed
    elapsed = operation.duration(timezone.now())
    rate = done / elapsed if elapsed and done else None
    running = operation.status not in FINISHED and (operation.valid or operation.status == Status.UNDOING)
    eta = (total - done) / rate if rate and running and operation.started_at and total > done else None
    return {
        "id": operation.pk,
        "state": operation.state.value,
        "stateLabel": operation.state.label,
        "status": operation.status,
        "running": running,
        "total": total,
        "completed": completed,
        "error": failed,
        "percent": min(100, round(100 * done / total)) if total else 0,
        "rate": round(rate, 1) if rate else None,
        "eta": round(eta) if eta is not None else None,
        "elapsed": round(elapsed) if elapsed is not None else None,
        "updatedAt": timestamp(operation.last_change),
        "failureReason": operation.failure_reason,
        **({"undo": {"mode": operation.undo_mode, **operation.undo_counts}} if operation.undo_mode else {}),
    }


def error_breakdown(operation: ImportOperation) -> list[dict[str, Any]]:
    """[{code, count, samples: [...]}] from the error report (outlives the staging area).

    One grouped query, then a few samples per code (at most 8 codes) on the
    (operation, code, id) index. Values are stored redacted already.
    """
    failures = ImportFailure.objects.filter(operation=operation)
    counts = failures.values("code").annotate(count=Count("id")).order_by("-count", "code")
    return [
        {
            "code": row["code"],
            "count": row["count"],
            "samples": list(
                failures.filter(code=row["code"])
                .order_by("id")
                .values("import_id", "email", "username", "field", "value")[:SAMPLES_PER_CODE]
            ),
        }
        for row in counts
    ]
