"""Per-operation object permissions (django-guardian, when installed)."""

from __future__ import annotations

from django.apps import apps

from importops.models import ImportOperation

CREATOR_PERMISSIONS = ("importops.view_importoperation", "importops.abort_importoperation")


def guardian_enabled() -> bool:
    return apps.is_installed("guardian")


def grant_creator_permissions(operation: ImportOperation) -> None:
    """The creator of an operation may view and abort it."""
    if operation.user_id is None or not guardian_enabled():
        return
    from guardian.shortcuts import assign_perm

    for perm in CREATOR_PERMISSIONS:
        assign_perm(perm, operation.user, operation)
