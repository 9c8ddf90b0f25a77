"""Shared fixtures: users with and without permissions, an API client speaking the
X-User-Id/X-Auth-Token scheme, and helpers to run an import to its end."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client

from importops.conf import importops_settings
from importops.models import AuthToken

User = get_user_model()
HAS_USERNAME = User.USERNAME_FIELD != User.get_email_field_name()


@pytest.fixture(autouse=True)
def _fresh_settings_and_cache():
    from django.core.cache import cache

    importops_settings.reload()
    cache.clear()
    yield
    importops_settings.reload()


def create_user(name: str, *, password: str = "pw-secret-1", **extra: Any) -> Any:
    """A user named ``name`` (email ``name@example.com``) for either user model."""
    values = {User.get_email_field_name(): f"{name}@example.com", **extra}
    if HAS_USERNAME:
        values[User.USERNAME_FIELD] = name
    return User._default_manager.create_user(password=password, **values)


def grant(user: Any, *codenames: str) -> Any:
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="importops", codename__in=codenames))
    return User._default_manager.get(pk=user.pk)  # drop the permission cache


class Api:
    """A test client bound to one user's token (or to none)."""

    def __init__(self, user: Any = None, token: str | None = None, *, prefix: str = "/api/v1/") -> None:
        self.client = Client()
        self.prefix = prefix
        self.user = user
        self.headers: dict[str, str] = {}
        if user is not None:
            if token is None:
                _, token = AuthToken.objects.issue(user=user)
            self.headers = {"HTTP_X_USER_ID": str(user.pk), "HTTP_X_AUTH_TOKEN": token}

    def get(self, endpoint: str, **extra: Any) -> Any:
        return self.client.get(f"{self.prefix}{endpoint}", **self.headers, **extra)

    def post(self, endpoint: str, body: Any = None, **extra: Any) -> Any:
        if body is None:
            return self.client.post(f"{self.prefix}{endpoint}", **self.headers, **extra)
        return self.client.post(
            f"{self.prefix}{endpoint}", json.dumps(body), content_type="application/json", **self.headers, **extra
        )


@pytest.fixture
def admin(db) -> Any:
    return User._default_manager.create_superuser(
        **{User.USERNAME_FIELD: "root" if HAS_USERNAME else "root@example.com"},
        **({User.get_email_field_name(): "root@example.com"} if HAS_USERNAME else {}),
        password="pw-secret-1",
    )


@pytest.fixture
def api(admin) -> Api:
    """An API client logged in as a superuser."""
    return Api(admin)


@pytest.fixture
def runner(db) -> Any:
    """A user holding run-import through a group, as Rocket.Chat's admin role does."""
    group, _ = Group.objects.get_or_create(name="importers")
    group.permissions.add(Permission.objects.get(content_type__app_label="importops", codename="run_import"))
    user = create_user("runner")
    user.groups.add(group)
    return user


@pytest.fixture
def plain(db) -> Any:
    """A logged-in user without any importops permission."""
    return create_user("plain")


def user_payload(n: int, *, prefix: str = "u", **extra: Any) -> dict[str, Any]:
    """One import.addUsers user."""
    return {"emails": [f"{prefix}{n}@example.com"], "importIds": [f"{prefix}-{n}"], "username": f"{prefix}{n}", **extra}


def users_payload(count: int, *, prefix: str = "u", start: int = 0, **extra: Any) -> dict[str, Any]:
    return {"users": [user_payload(n, prefix=prefix, **extra) for n in range(start, start + count)]}


@pytest.fixture
def run_to_end(django_capture_on_commit_callbacks):
    """Call import.run and let the inline task backend drain it (callbacks executed)."""

    def run(client: Api) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("import.run")
        assert response.status_code == 200, response.content
        return response

    return run
