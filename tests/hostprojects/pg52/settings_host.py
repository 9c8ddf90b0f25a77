# ruff: noqa: F821  (appended to a settings module that defines these names)

# The host project's own settings, from before importops.
import os

INSTALLED_APPS += ["accounts", "hostpages"]
AUTH_USER_MODEL = "accounts.User"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ["HOST_DB_NAME"],
        "HOST": os.environ["HOST_DB_HOST"],
        "PORT": os.environ["HOST_DB_PORT"],
        "USER": os.environ["HOST_DB_USER"],
    }
}
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
