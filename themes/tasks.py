"""The themes app's schedule (a Procrastinate periodic task); its job type is in jobtypes.py."""

from __future__ import annotations

from procrastinate.contrib.django import app

from themes import services


@app.periodic(cron="0 6 * * *", periodic_id="themes-daily-scan")
@app.task(name="themes.schedule_scans", queue="maintenance", pass_context=False)
def schedule_scans(timestamp: int) -> dict[str, int]:
    """Daily at 06:00 UTC: one scan per active organization."""
    return services.theme_scans_schedule(source="schedule")
