"""The daily scan fan-out, and the roadmap regeneration a scan with many new themes triggers."""

from __future__ import annotations

import pytest
from procrastinate.contrib.django import app

from jobs.models import Job, Organization, RunLog
from roadmap.models import Project
from roadmap.services import roadmap_regenerate_start
from tests.conftest import drain
from tests.themes.builders import WORDS, interviews_about
from themes.services import theme_scan_start
from themes.tasks import schedule_scans

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_daily_scan_is_a_periodic_task_at_six_utc():
    periodic = {p.periodic_id: p for p in app.periodic_registry.periodic_tasks.values()}

    assert periodic["themes-daily-scan"].cron == "0 6 * * *"
    assert periodic["themes-daily-scan"].task.name == "themes.schedule_scans"


def test_the_daily_scan_fans_out_one_scan_per_active_organization(org, other_org, clean_queue):
    Organization.objects.create(name="Gone", slug="gone", is_active=False)

    first = schedule_scans(timestamp=0)
    second = schedule_scans(timestamp=86400)  # the previous ones are still queued

    assert first == {"queued": 2, "already_queued": 0}
    assert second == {"queued": 0, "already_queued": 2}
    scans = Job.objects.filter(type="themes.scan", source="schedule")
    assert sorted(j.organization.slug for j in scans) == ["acme", "globex"]
    assert RunLog.objects.filter(job_type="themes.schedule_scans").count() == 2


def test_the_periodic_task_itself_runs_on_a_worker(org, clean_queue):
    app.configure_task("themes.schedule_scans").defer(timestamp=0)

    drain(queues=["maintenance"])

    assert Job.objects.filter(type="themes.scan", organization=org).count() == 1


def test_more_than_ten_new_themes_trigger_one_regeneration_per_active_project(org, clean_queue):
    active = Project.objects.create(organization=org, name="Core")
    Project.objects.create(organization=org, name="Old", status="archived")
    interviews_about(org, WORDS[:11])
    scan = theme_scan_start(organization=org, source="internal")

    drain()

    scan.refresh_from_db()
    assert scan.output["themes_created"] == 11
    regenerations = Job.objects.filter(type="roadmap.regenerate")
    assert [(j.input["project_id"], j.source) for j in regenerations] == [(str(active.id), "event")]
    assert regenerations.get().status == "completed"  # the same drain ran it


def test_ten_new_themes_or_a_dry_run_trigger_nothing(org, clean_queue):
    Project.objects.create(organization=org, name="Core")
    interviews_about(org, WORDS[:10])
    theme_scan_start(organization=org, source="internal")
    drain()
    interviews_about(org, WORDS[10:12])  # 12 themes, 2 new
    theme_scan_start(organization=org, source="internal")
    drain()
    Job.objects.filter(type="themes.scan").delete()
    theme_scan_start(organization=org, source="internal", dry_run=True)
    drain()

    assert not Job.objects.filter(type="roadmap.regenerate").exists()


def test_a_regeneration_already_queued_is_not_queued_twice(org, clean_queue):
    project = Project.objects.create(organization=org, name="Core")
    interviews_about(org, WORDS[:11])
    scan = theme_scan_start(organization=org, source="internal")
    # Queued after the scan, so it still waits when the scan finishes.
    roadmap_regenerate_start(project=project, source="schedule")

    drain()

    scan.refresh_from_db()
    assert (scan.status, scan.output["themes_created"]) == ("completed", 11)
    assert list(Job.objects.filter(type="roadmap.regenerate").values_list("source", flat=True)) \
        == ["schedule"]
