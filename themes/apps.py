from django.apps import AppConfig


class ThemesConfig(AppConfig):
    name = "themes"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from themes import jobtypes  # noqa: F401  (registers themes.scan)
