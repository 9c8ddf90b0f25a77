from django.apps import AppConfig


class ImportOpsConfig(AppConfig):
    name = "importops"
    verbose_name = "Import operations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from importops import checks, conf  # noqa: F401  (registers system checks and the settings receiver)
        from importops.folding import register_sqlite_function

        connection_created.connect(register_sqlite_function, dispatch_uid="importops_fold")
