"""The weekly refresh: Mondays 06:00 UTC, one regeneration per active project."""

from __future__ import annotations

import pytest
from procrastinate.contrib.django import app

from jobs.models import Job, Organization, RunLog
from roadmap.models import Project
from roadmap.tasks import schedule_refresh
from tests.conftest import drain

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_weekly_refresh_is_a_periodic_task_on_monday_at_six_utc():
    periodic = {p.periodic_id: p for p in app.periodic_registry.periodic_tasks.values()}

    assert periodic["roadmap-weekly-refresh"].cron == "0 6 * * 1"
    assert periodic["roadmap-weekly-refresh"].task.name == "roadmap.schedule_refresh"


def test_the_weekly_refresh_fans_out_one_job_per_active_project(org, other_org, clean_queue):
    core = Project.objects.create(organization=org, name="Core")
    theirs = Project.objects.create(organization=other_org, name="Theirs")
    Project.objects.create(organization=org, name="Old", status="archived")
    gone = Organization.objects.create(name="Gone", slug="gone", is_active=False)
    Project.objects.create(organization=gone, name="Orphan")

    first = schedule_refresh(timestamp=0)
    second = schedule_refresh(timestamp=604800)  # last week's are still queued

    assert first == {"queued": 2, "already_queued": 0}
    assert second == {"queued": 0, "already_queued": 2}
    jobs = Job.objects.filter(type="roadmap.regenerate", source="schedule")
    assert sorted(j.input["project_id"] for j in jobs) == sorted([str(core.id), str(theirs.id)])
    assert all(j.input["generate_reasoning"] for j in jobs)
    assert RunLog.objects.filter(job_type="roadmap.weekly_refresh").count() == 2


def test_the_refresh_runs_on_a_worker_and_its_regenerations_complete(org, clean_queue):
    Project.objects.create(organization=org, name="Core")
    app.configure_task("roadmap.schedule_refresh").defer(timestamp=0)

    drain()

    assert list(Job.objects.filter(type="roadmap.regenerate").values_list("status", flat=True)) \
        == ["completed"]
