"""Per-operation object permissions (django-guardian, when installed)."""

from __future__ import annotations

from typing import Any

from django.apps import apps

from importops.models import ImportOperation

CREATOR_PERMISSIONS = ("importops.view_importoperation", "importops.abort_importoperation")
ABORT = "importops.abort_importoperation"


def guardian_enabled() -> bool:
    return apps.is_installed("guardian")


def grant_creator_permissions(operation: ImportOperation) -> None:
    """The creator of an operation may view and abort it."""
    if operation.user_id is None or not guardian_enabled():
        return
    from guardian.shortcuts import assign_perm

    for perm in CREATOR_PERMISSIONS:
        assign_perm(perm, operation.user, operation)


def can(user: Any, perm: str, operation: ImportOperation | None = None) -> bool:
    """``perm`` held globally, or on ``operation`` (object permission)."""
    if user.has_perm(perm):
        return True
    return operation is not None and guardian_enabled() and user.has_perm(perm, operation)
