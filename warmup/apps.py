from django.apps import AppConfig


class WarmupConfig(AppConfig):
    name = "warmup"
    default_auto_field = "django.db.models.BigAutoField"
