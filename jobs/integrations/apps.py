from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "jobs.integrations"
    label = "integrations"
    verbose_name = "Integrations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from jobs import runtime
        from jobs.integrations import sentry

        sentry.init_sentry()
        if sentry.capture_job_failure not in runtime.failure_hooks:
            runtime.failure_hooks.append(sentry.capture_job_failure)
