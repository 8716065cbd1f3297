"""The roadmap's weekly refresh (a Procrastinate periodic task); its job type is in jobtypes.py."""

from __future__ import annotations

from procrastinate.contrib.django import app

from roadmap import services


@app.periodic(cron="0 6 * * 1", periodic_id="roadmap-weekly-refresh")
@app.task(name="roadmap.schedule_refresh", queue="maintenance", pass_context=False)
def schedule_refresh(timestamp: int) -> dict[str, int]:
    """Mondays at 06:00 UTC: one regeneration per active project."""
    return services.roadmap_refresh_schedule()
