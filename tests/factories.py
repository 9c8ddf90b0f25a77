"""Operations in a given state, made directly (for transition tests)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from importops.models import ImportOperation

STATUS_OF_STATE = {
    "new": "importer_new",
    "loading": "importer_preparing_users",
    "ready": "importer_user_selection",
    "importing": "importer_importing_users",
    "done": "importer_done",
    "error": "importer_import_failed",
    "canceled": "importer_import_cancelled",
}


def operation_in(state: str, *, user: Any = None, **extra: Any) -> ImportOperation:
    """The latest operation, valid, in ``state`` (or invalid for state "invalid")."""
    ImportOperation.objects.filter(valid=True).update(valid=False)
    if state == "invalid":
        return ImportOperation.objects.create(
            type="api", importer_key="api", ts=timezone.now(), status="importer_new", valid=False, user=user
        )
    values = {"type": "api", "importer_key": "api", **extra}
    return ImportOperation.objects.create(
        ts=timezone.now(), status=STATUS_OF_STATE[state], valid=True, user=user, **values
    )
