from django.apps import AppConfig


class RoadmapConfig(AppConfig):
    name = "roadmap"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The job types; a theme scan that finds many new themes regenerates the roadmap.
        from roadmap import jobtypes, receivers  # noqa: F401
