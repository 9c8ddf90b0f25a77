"""The change report of an operation: every user it created, updated, skipped or failed,
and what an undo did — rows for the admin and for ``importops_changes``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from importops.models import ImportChange, ImportFailure, ImportOperation

COLUMNS = ["action", "importId", "email", "username", "changes", "undo", "code", "field", "value"]


def describe_changes(change: ImportChange) -> str:
    """``field: old → new; ...`` (a created user: ``field: value``)."""
    parts = []
    for name, values in sorted(change.field_changes().items()):
        old, new = values.get("old"), values.get("new")
        if isinstance(new, list):
            old, new = ", ".join(old or []), ", ".join(new)
        parts.append(f"{name}: {new}" if old is None else f"{name}: {old} → {new}")
    if change.linked:
        parts.append("linked " + ", ".join(change.linked))
    return "; ".join(parts)


def report_rows(*, operation: ImportOperation) -> Iterator[list[Any]]:
    """One row per change, then one per failed user, in COLUMNS order."""
    for change in ImportChange.objects.filter(operation=operation).order_by("id").iterator():
        yield [
            change.action,
            change.import_id,
            change.email,
            change.username,
            describe_changes(change),
            change.undo,
            "",
            "",
            "",
        ]
    failures = ImportFailure.objects.filter(operation=operation).order_by("id")
    for failure in failures.iterator():
        yield [
            "failed",
            failure.import_id,
            failure.email,
            failure.username,
            "",
            "",
            failure.code,
            failure.field,
            failure.value,
        ]
