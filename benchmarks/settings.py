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
INSTALLED_APPS = [*INSTALLED_APPS, "import_export"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
ALLOWED_HOSTS = ["*"]
LOGGING = {"version": 1, "disable_existing_loggers": False}
IMPORTOPS = {
    **IMPORTOPS,  # noqa: F405
    **({"DRAIN_THREADS": int(os.environ["BENCH_DRAIN_THREADS"])} if os.environ.get("BENCH_DRAIN_THREADS") else {}),
    **({"BATCH_SIZE": int(os.environ["BENCH_BATCH_SIZE"])} if os.environ.get("BENCH_BATCH_SIZE") else {}),
}
