"""The ops app's periodic task: Procrastinate defers each minute once across all workers."""

from __future__ import annotations

from procrastinate.contrib.django import app

from ops import services


@app.periodic(cron="* * * * *", periodic_id="ops-alerts")
@app.task(name="ops.evaluate_alerts", queue="maintenance", pass_context=False)
def ops_tick(timestamp: int) -> int:
    """Sample the queue and evaluate the alerts; returns how many alerts changed."""
    return len(services.ops_tick().evaluation.events)
