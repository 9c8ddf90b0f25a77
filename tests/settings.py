"""Test settings: the demo's settings with fast hashing, an inline task backend by default
and a worker-backed one for end-to-end tests.

Environment:
- DATABASE_URL: PostgreSQL (postgres://...) or unset for SQLite.
- TEST_USER_MODEL=email: run against a custom user model whose USERNAME_FIELD is the
  email and that has no username field (tests/testapp).
- IMPORTOPS_LEASE_SECONDS, IMPORTOPS_BATCH_SIZE: set by end-to-end tests for their workers.
- REDIS_URL_TEST: a Redis server for the Redis tests (scripts/test.sh starts one): adds the
  "rq" task backend; TEST_CACHE=redis makes it the cache (for their web servers).
"""

import os
from importlib.util import find_spec

from rcimport.settings import *  # noqa: F403
from rcimport.settings import INSTALLED_APPS, LOGGING

DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]

if os.environ.get("TEST_USER_MODEL") == "email":
    AUTH_USER_MODEL = "testapp.EmailUser"
    ANONYMOUS_USER_NAME = "anonymous@guardian.invalid"  # guardian's anonymous row exists here

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
]

_TASKS_MODULE = "django.tasks" if find_spec("django.tasks") else "django_tasks"
TASKS = {
    # Runs imports inline (in on_commit) for ordinary tests.
    "default": {"BACKEND": f"{_TASKS_MODULE}.backends.immediate.ImmediateBackend"},
    # What end-to-end tests enqueue to: a real queue drained by real worker processes.
    "worker": {"BACKEND": "django_tasks_db.DatabaseBackend"},
}
SILENCED_SYSTEM_CHECKS = ["importops.E001"]

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

REDIS_URL = os.environ.get("REDIS_URL_TEST")
if REDIS_URL:
    INSTALLED_APPS = [*INSTALLED_APPS, "django_rq"]
    RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": -1}}
    TASKS = {**TASKS, "rq": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    if os.environ.get("TEST_CACHE") == "redis":
        CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}

IMPORTOPS = {
    "DEFAULT_ROLES": ["user"],
    "IMPORTABLE_ROLES": ["user", "admin"],
    "TASK_BACKEND": os.environ.get("IMPORTOPS_TASK_BACKEND", "default"),
    "LEASE_SECONDS": int(os.environ.get("IMPORTOPS_LEASE_SECONDS", "60")),
    "BATCH_SIZE": int(os.environ.get("IMPORTOPS_BATCH_SIZE", "5000")),
    "BATCH_TIME_BUDGET": float(os.environ.get("IMPORTOPS_BATCH_TIME_BUDGET", "2.0")),
    "RATE_LIMIT": int(os.environ.get("IMPORTOPS_RATE_LIMIT", "120")),
    "LOGIN_MAX_FAILURES_PER_USER": int(os.environ.get("IMPORTOPS_LOGIN_MAX_FAILURES_PER_USER", "5")),
}

_LOG_LEVEL = os.environ.get("IMPORTOPS_LOG_LEVEL", "WARNING")
LOGGING = {**LOGGING, "loggers": {**LOGGING["loggers"], "importops": {"handlers": ["console"], "level": _LOG_LEVEL}}}
WHITENOISE_USE_FINDERS = True
STATIC_ROOT = None
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
