from django.apps import AppConfig


class WarmupConfig(AppConfig):
    name = "warmup"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from warmup import jobtypes  # noqa: F401  (registers the warmup job types)
