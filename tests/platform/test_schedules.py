"""The platform's maintenance runs as Procrastinate periodic tasks, not external cron."""

from __future__ import annotations

from procrastinate.contrib.django import app


def periodic_by_id() -> dict[str, str]:
    return {p.periodic_id: p.cron for p in app.periodic_registry.periodic_tasks.values()}


def test_maintenance_tasks_are_scheduled():
    schedules = periodic_by_id()

    assert schedules["jobs-expire"] == "* * * * *"
    assert schedules["jobs-rescue"] == "* * * * *"
    assert schedules["jobs-prune"] == "17 * * * *"


def test_maintenance_tasks_run_on_their_own_queue():
    for name in ("jobs.maintenance.expire", "jobs.maintenance.rescue", "jobs.maintenance.prune"):
        assert app.tasks[name].queue == "maintenance"
