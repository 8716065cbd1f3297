from django.apps import AppConfig


class CompetitorsConfig(AppConfig):
    name = "competitors"
    default_auto_field = "django.db.models.BigAutoField"
