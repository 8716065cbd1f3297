from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The built-in job types (diagnostic) register with the registry; workers
        # wait for a restarting database instead of stopping (jobs.resilience).
        # Django's task API runs on the platform (jobs.tasks_backend registers its
        # job type); tracing turns on when the OTEL_* environment asks for it.
        from jobs import builtin, resilience, tasks_backend, tracing  # noqa: F401

        resilience.install()
        tracing.configure_from_env()
