from django.apps import AppConfig


class AiConfig(AppConfig):
    name = "jobs.ai"
    label = "ai"
    verbose_name = "AI providers"
    default_auto_field = "django.db.models.BigAutoField"
