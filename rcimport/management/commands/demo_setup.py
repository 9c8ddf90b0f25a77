"""Prepare the demo: groups ``admin`` and ``user``, and the superuser ``admin``."""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand

ADMIN_PERMISSIONS = ("run_import", "view_importoperation", "abort_importoperation")


class Command(BaseCommand):
    help = (
        "Ensure groups 'admin' (run_import, view_importoperation, abort_importoperation) and "
        "'user', and a superuser 'admin' (password from DJANGO_SUPERUSER_PASSWORD, else "
        "generated and printed once)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        admin_group, _ = Group.objects.get_or_create(name="admin")
        admin_group.permissions.add(
            *Permission.objects.filter(content_type__app_label="importops", codename__in=ADMIN_PERMISSIONS)
        )
        Group.objects.get_or_create(name="user")
        model = get_user_model()
        if model._default_manager.filter(**{model.USERNAME_FIELD: "admin"}).exists():
            return
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        generated = not password
        password = password or secrets.token_urlsafe(12)
        user = model._default_manager.create_superuser(
            **{model.USERNAME_FIELD: "admin"}, email="admin@localhost", password=password
        )
        user.groups.add(admin_group)
        if generated:
            self.stdout.write(self.style.WARNING(f"Created superuser 'admin' with password: {password}"))
            self.stdout.write("It is shown only now. Set DJANGO_SUPERUSER_PASSWORD to choose it.")
        else:
            self.stdout.write("Created superuser 'admin' (password from DJANGO_SUPERUSER_PASSWORD).")
