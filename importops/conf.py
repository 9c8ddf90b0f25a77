"""importops settings: one ``IMPORTOPS`` dict, read lazily, reset on ``setting_changed``.

Every key, its default and its meaning is listed in the README's configuration reference.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

DEFAULTS: dict[str, Any] = {
    # Users and roles
    "USER_ADAPTER": "importops.users.UserAdapter",
    "DEFAULT_ROLES": [],
    "IMPORTABLE_ROLES": [],
    # Tokens
    "TOKEN_TTL_DAYS": 90,
    "TOKEN_LAST_USED_INTERVAL": 60,
    # Requests and rate limits
    "MAX_REQUEST_SIZE": 16 * 1024 * 1024,
    "LOGIN_MAX_FAILURES_PER_USER": 5,
    "LOGIN_MAX_FAILURES_PER_ADDRESS": 30,
    "LOGIN_FAILURE_WINDOW": 300,
    "RATE_LIMIT": 120,
    "RATE_LIMIT_WINDOW": 60,
    "TRUSTED_PROXY_HEADER": None,
    "CACHE": "default",
    # The engine
    "TASK_BACKEND": "default",
    "TASK_QUEUE": "default",
    "PARALLELISM": 4,
    "DRAIN_THREADS": 2,
    "BATCH_SIZE": 5000,
    "BATCH_TIME_BUDGET": 2.0,
    "LEASE_SECONDS": 60,
    "MAX_RESUMES": 3,
    "RETRY_DEADLINE": 300,
    # Files
    "FILE_STORAGE": "default",
    "MAX_UPLOAD_SIZE": 100 * 1024 * 1024,
    "MAX_ZIP_ENTRIES": 10000,
    "MAX_UNCOMPRESSED_SIZE": 1024 * 1024 * 1024,
    "MAX_COMPRESSION_RATIO": 100,
    "MAX_LINE_LENGTH": 1024 * 1024,
    "DOWNLOAD_ALLOWED_HOSTS": [],
    "DOWNLOAD_ALLOW_LOCAL_ADDRESSES": False,
    "DOWNLOAD_TIMEOUT": 30,
    "FILE_DATA_MAX_USERS": 10000,
}

IMPORT_STRINGS = {"USER_ADAPTER"}


class ImportOpsSettings:
    """Attribute access to ``settings.IMPORTOPS`` merged over ``DEFAULTS``."""

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown importops setting: {name!r}")
        if name not in self._cache:
            user = getattr(settings, "IMPORTOPS", {}) or {}
            value = user.get(name, DEFAULTS[name])
            if name in IMPORT_STRINGS and isinstance(value, str):
                value = import_string(value)
            self._cache[name] = value
        return self._cache[name]

    def reload(self) -> None:
        self._cache.clear()


importops_settings = ImportOpsSettings()


@receiver(setting_changed)
def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting in ("IMPORTOPS", "PASSWORD_HASHERS", "TASKS", "AUTH_USER_MODEL"):
        importops_settings.reload()
