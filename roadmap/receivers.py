"""The roadmap's reaction to a finished theme scan (connected in RoadmapConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from roadmap import services
from themes.signals import scan_finished


@receiver(scan_finished, dispatch_uid="roadmap-regenerate-on-new-themes")
def regenerate_on_new_themes(
    sender: Any, *, organization_id: Any, themes_created: int, **kwargs: Any
) -> None:
    services.roadmap_regenerate_for_new_themes(
        organization_id=organization_id, themes_created=themes_created
    )
