from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The built-in job types (diagnostic) register with the registry; workers
        # wait for a restarting database instead of stopping (jobs.resilience).
        from jobs import builtin, resilience  # noqa: F401

        resilience.install()
