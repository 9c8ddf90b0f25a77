from django.apps import AppConfig


class ImportOpsConfig(AppConfig):
    name = "importops"
    verbose_name = "Import operations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from importops import checks, conf  # noqa: F401  (registers system checks and the settings receiver)
