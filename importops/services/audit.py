"""Every state-changing call is written to Django's admin history (LogEntry)."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry

__all__ = ["ADDITION", "CHANGE", "audit"]


def audit(*, user: Any, obj: Any, action: int, message: str) -> None:
    """Record ``message`` about ``obj`` by ``user`` in the admin history (no-op without a user)."""
    if user is None or not getattr(user, "pk", None):
        return
    queryset = type(obj)._default_manager.filter(pk=obj.pk)
    LogEntry.objects.log_actions(user.pk, queryset, action, change_message=message, single_object=True)
