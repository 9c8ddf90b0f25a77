from django.apps import AppConfig


class RcimportConfig(AppConfig):
    """The demo project is an app only to carry its management command (demo_setup)."""

    name = "rcimport"
    verbose_name = "importops demo"
