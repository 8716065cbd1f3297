from django.apps import AppConfig


class CompetitorsConfig(AppConfig):
    name = "competitors"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The app's job types register with the platform's registry.
        from competitors import jobtypes  # noqa: F401
