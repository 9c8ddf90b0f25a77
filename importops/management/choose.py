"""Shared by commands: the operation, or the user, a command acts on or for."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from importops.models import ImportOperation


def operation_or_latest(operation_id: str | None) -> ImportOperation:
    """The operation with this id, or the latest one; CommandError when there is none."""
    operations = ImportOperation.objects.latest_first()
    chosen = operations.filter(pk=operation_id).first() if operation_id else operations.first()
    if chosen is None:
        raise CommandError(f"No operation {operation_id}." if operation_id else "No import operation yet.")
    return chosen


def user_named(username: str) -> Any:
    """The user with this login name (``USERNAME_FIELD``); CommandError when there is none."""
    model = get_user_model()
    try:
        return model._default_manager.get_by_natural_key(username)
    except model.DoesNotExist as exc:
        raise CommandError(f"No user {username!r}.") from exc
