"""Who may see and abort which operation: global permissions, or object permissions
(django-guardian) on that operation."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from importops.models import ImportOperation
from importops.services.permissions import can, guardian_enabled

__all__ = ["ABORT", "VIEW", "ReadOnlyAdmin", "can", "sees_any_operation", "visible_operations"]

VIEW = "importops.view_importoperation"
ABORT = "importops.abort_importoperation"


def visible_operations(user: Any, queryset: QuerySet[ImportOperation]) -> QuerySet[ImportOperation]:
    """Everything for holders of the global view permission, else the operations the user
    holds view or abort on."""
    if user.has_perm(VIEW) or user.has_perm(ABORT):
        return queryset
    if not guardian_enabled():
        return queryset.none()
    from guardian.shortcuts import get_objects_for_user

    return get_objects_for_user(user, [VIEW, ABORT], klass=queryset, any_perm=True, accept_global_perms=False)


def sees_any_operation(user: Any) -> bool:
    if not user.is_active or not user.is_staff:
        return False
    return visible_operations(user, ImportOperation.objects.all()).exists()


class ReadOnlyAdmin(admin.ModelAdmin):
    """A model the engine writes and people only read (staged records, the change report)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
