"""Rocket.Chat permissions as Django permissions (docs/api.md, "Permissions")."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request


class HasDjangoPermission(BasePermission):
    """Logged in, and holds ``perm`` directly, through a group, or as superuser."""

    perm = ""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm(self.perm))


class RunImport(HasDjangoPermission):
    """Rocket.Chat's ``run-import``."""

    perm = "importops.run_import"


class ViewImportOperations(HasDjangoPermission):
    """Rocket.Chat's ``view-import-operations``."""

    perm = "importops.view_importoperation"
