from django.apps import AppConfig


class WebConfig(AppConfig):
    """The product's front door and shell: home page, sign-in, error pages, the shared
    look (CSS, icons, toasts) and safe Markdown for model output."""

    name = "web"
    default_auto_field = "django.db.models.BigAutoField"
