"""System checks (ids importops.E00x / W00x)."""

from __future__ import annotations

import difflib
from typing import Any

from django.conf import settings
from django.core import checks
from django.urls import NoReverseMatch, Resolver404, resolve, reverse

from importops.compat import DummyBackend, ImmediateBackend, task_backends
from importops.conf import DEFAULTS, importops_settings
from importops.services import user_indexes


@checks.register()
def check_task_backend(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Imports must run in a worker: the Immediate backend would run them inside the web
    request, the Dummy backend never."""

    alias = importops_settings.TASK_BACKEND
    try:
        backend = task_backends[alias]
    except Exception as exc:  # noqa: BLE001  (any misconfiguration is reported, not raised)
        return [checks.Error(f"Task backend {alias!r} is not usable: {exc}", id="importops.E001")]
    if isinstance(backend, ImmediateBackend | DummyBackend):
        return [
            checks.Error(
                f"The task backend {alias!r} ({type(backend).__name__}) cannot run imports in a worker.",
                hint='Use a worker-backed backend, e.g. TASKS = {"default": {"BACKEND": '
                '"django_tasks_db.DatabaseBackend"}}. Tests may silence importops.E001.',
                id="importops.E001",
            )
        ]
    return []


@checks.register()
def check_bcrypt_hasher(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Rocket.Chat bcrypt hashes are stored as bcrypt_sha256$...: the hasher must be listed."""
    hashers = getattr(settings, "PASSWORD_HASHERS", [])
    if not any(h.endswith("BCryptSHA256PasswordHasher") for h in hashers):
        return [
            checks.Warning(
                "Users imported with a Rocket.Chat bcrypt hash will not be able to log in: "
                "BCryptSHA256PasswordHasher is not in PASSWORD_HASHERS.",
                hint='Add "django.contrib.auth.hashers.BCryptSHA256PasswordHasher" to PASSWORD_HASHERS '
                "(after your preferred hasher) and install the bcrypt package.",
                id="importops.W001",
            )
        ]
    try:
        import bcrypt  # noqa: F401
    except ImportError:
        return [checks.Warning("The bcrypt package is not installed.", hint="pip install bcrypt", id="importops.W002")]
    return []


@checks.register(checks.Tags.security, deploy=False)
def check_local_downloads(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Downloading from local addresses is for development only."""
    if importops_settings.DOWNLOAD_ALLOW_LOCAL_ADDRESSES and not settings.DEBUG:
        return [
            checks.Error(
                'IMPORTOPS["DOWNLOAD_ALLOW_LOCAL_ADDRESSES"] is on while DEBUG is off: '
                "downloadPublicImportFile could reach internal services.",
                hint="Turn it off in production.",
                id="importops.E002",
            )
        ]
    return []


@checks.register()
def check_unknown_keys(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """A misspelt key of ``IMPORTOPS`` would otherwise be ignored without a word."""
    configured = getattr(settings, "IMPORTOPS", None) or {}
    messages: list[checks.CheckMessage] = []
    for key in sorted(set(configured) - DEFAULTS.keys()):
        close = difflib.get_close_matches(key, DEFAULTS, n=1)
        hint = f"Did you mean {close[0]!r}?" if close else "The README's configuration reference lists every key."
        messages.append(
            checks.Warning(
                f"Unknown key {key!r} in IMPORTOPS: it is ignored.",
                hint=hint,
                id="importops.W003",
            )
        )
    return messages


@checks.register(checks.Tags.urls)
def check_routes_not_shadowed(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """A host route listed before importops' include, on one of importops' paths, answers
    instead of importops: Rocket.Chat clients would meet the host's view."""
    from importops import urls  # not at import time: apps load before any URLconf is read

    messages: list[checks.CheckMessage] = []
    for pattern in urls.urlpatterns:
        try:
            path = reverse(f"importops:{pattern.name}")
        except NoReverseMatch:
            return []  # importops' URLs are not mounted (an admin-only install)
        try:
            match = resolve(path)
        except Resolver404:
            continue
        if match.func is not pattern.callback:
            view = getattr(match.func, "view_class", match.func)
            messages.append(
                checks.Warning(
                    f"{path} is answered by {view.__module__}.{view.__qualname__}, not by importops.",
                    hint="Mount importops under a prefix of its own, or list its include before the other route.",
                    id="importops.W004",
                )
            )
    return messages


@checks.register(checks.Tags.database)
def check_user_indexes(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """A large user table without LOWER() indexes makes every batch scan it (run by
    ``migrate`` and ``check --database``)."""
    messages: list[checks.CheckMessage] = []
    for using in databases or []:
        try:
            absent = user_indexes.missing(using)
            large = bool(absent) and user_indexes.row_count_exceeds(user_indexes.LARGE_USER_TABLE, using)
        except Exception:  # noqa: BLE001 - no table yet (before migrate): nothing to say
            large = False
        if large:
            names = ", ".join(f"folded {index.column}" for index in absent)
            messages.append(
                checks.Warning(
                    f"The user table {absent[0].table} has more than {user_indexes.LARGE_USER_TABLE:,} rows and no "
                    f"index on {names}: every import batch scans it.",
                    hint="Run: python manage.py importops_user_indexes",
                    id="importops.W005",
                )
            )
    return messages
