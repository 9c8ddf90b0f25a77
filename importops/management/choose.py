"""Shared by commands that act on one operation."""

from __future__ import annotations

from django.core.management.base import CommandError

from importops.models import ImportOperation


def operation_or_latest(operation_id: str | None) -> ImportOperation:
    """The operation with this id, or the latest one; CommandError when there is none."""
    operations = ImportOperation.objects.order_by("-ts")
    chosen = operations.filter(pk=operation_id).first() if operation_id else operations.first()
    if chosen is None:
        raise CommandError(f"No operation {operation_id}." if operation_id else "No import operation yet.")
    return chosen
