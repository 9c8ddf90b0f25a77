"""Settings for the benchmark harness: the demo's settings on the benchmark database."""

import os

from rcimport.settings import *  # noqa: F403
from rcimport.settings import INSTALLED_APPS

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("BENCH_DB", "importops_bench"),
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": os.environ.get("PGPORT_TEST", "54329"),
    }
}
INSTALLED_APPS = [*INSTALLED_APPS, "import_export", "django_rq"]
# Both engines: django-tasks-db ("default") and Redis + RQ ("rq", at BENCH_REDIS_URL).
RQ_QUEUES = {"default": {"URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6390/0"), "DEFAULT_TIMEOUT": -1}}
TASKS = {
    "default": {"BACKEND": "django_tasks_db.DatabaseBackend"},
    "rq": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]},
}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
ALLOWED_HOSTS = ["*"]
LOGGING = {"version": 1, "disable_existing_loggers": False}
IMPORTOPS = {
    **IMPORTOPS,  # noqa: F405
    **({"DRAIN_THREADS": int(os.environ["BENCH_DRAIN_THREADS"])} if os.environ.get("BENCH_DRAIN_THREADS") else {}),
    **({"BATCH_SIZE": int(os.environ["BENCH_BATCH_SIZE"])} if os.environ.get("BENCH_BATCH_SIZE") else {}),
    "TASK_BACKEND": os.environ.get("BENCH_TASK_BACKEND", "default"),
}
