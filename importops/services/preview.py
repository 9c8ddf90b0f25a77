"""``import.preview``: every check a run would make, against the staged users; writes nothing."""

from __future__ import annotations

from collections import Counter
from typing import Any

from importops import errors
from importops.models import ImportOperation, ImportRecord
from importops.models.record import DataType
from importops.services.judge import JudgeState, judge
from importops.services.running import adapter

CHUNK = 2000
MAX_SAMPLES = 20


def users_preview() -> dict[str, Any]:
    operation = ImportOperation.objects.latest_or_raise(errors.OperationNotInitialized)
    return operation_preview(operation=operation)


def operation_preview(*, operation: ImportOperation) -> dict[str, Any]:
    """{"wouldCreate": n, "wouldFail": {code: n}, "samples": [...]} for the staged users."""
    user_adapter = adapter()
    state = JudgeState()
    would_create = 0
    failures: Counter[str] = Counter()
    samples: list[dict[str, Any]] = []
    records = ImportRecord.objects.filter(operation=operation, data_type=DataType.USER, skipped=False).order_by("id")
    last_id = 0
    while chunk := list(records.filter(id__gt=last_id)[:CHUNK]):
        last_id = chunk[-1].pk
        for verdict in judge(operation_id=operation.pk, records=chunk, adapter=user_adapter, state=state):
            if verdict.error is None:
                would_create += 1
                continue
            code = verdict.error["message"]
            failures[code] += 1
            if len(samples) < MAX_SAMPLES:
                user = verdict.user
                samples.append({"importId": user.import_id, "email": user.email, "code": code})
    return {"wouldCreate": would_create, "wouldFail": dict(failures), "samples": samples}
