from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The app's job types register with the platform's registry.
        from reports import jobtypes  # noqa: F401
