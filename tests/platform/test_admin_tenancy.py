"""The admin for staff who are not superusers: actions need their permission, and a
staff member sees and acts on their own organizations' rows only."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from jobs import lifecycle
from jobs.models import Job, Organization
from roadmap.models import Project
from themes.models import Interview, Theme
from warmup.models import Comparison

pytestmark = pytest.mark.django_db


def _staff(make_user: Any, org: Organization, *perms: str) -> Client:
    staff = make_user(org, is_staff=True)
    for perm in perms:
        app, codename = perm.split(".")
        staff.user_permissions.add(
            Permission.objects.get(content_type__app_label=app, codename=codename))
    client = Client()
    client.force_login(staff)
    return client


def _act(client: Client, url: str, action: str, ids: list[Any]) -> Any:
    return client.post(url, {"action": action, "_selected_action": [str(i) for i in ids]})


def test_a_view_only_staff_users_job_actions_change_nothing(make_user, org):
    client = _staff(make_user, org, "jobs.view_job")
    pending = lifecycle.job_create(job_type="diagnostic", input={}, organization=org,
                                   source="schedule", enforce_limits=False)
    failed = lifecycle.job_create(job_type="diagnostic", input={}, organization=org,
                                  source="schedule", enforce_limits=False)
    lifecycle.job_cancel(failed.id, actor="test")
    assert client.get("/admin/jobs/job/").status_code == 200

    cancel = _act(client, "/admin/jobs/job/", "cancel_jobs", [pending.id])
    retry = _act(client, "/admin/jobs/job/", "retry_jobs", [failed.id])

    assert cancel.status_code in (200, 302, 403) and retry.status_code in (200, 302, 403)
    assert Job.objects.get(id=pending.id).status == "pending"
    assert Job.objects.get(id=failed.id).status == "cancelled"
    assert b"retry_jobs" not in client.get("/admin/jobs/job/").content


def test_staff_with_the_job_permissions_act_on_their_own_organizations_jobs_only(
    make_user, org, other_org
):
    client = _staff(make_user, org, "jobs.view_job", "jobs.cancel_job", "jobs.retry_job")
    ours = lifecycle.job_create(job_type="diagnostic", input={}, organization=org,
                                source="schedule", enforce_limits=False)
    theirs = lifecycle.job_create(job_type="diagnostic", input={}, organization=other_org,
                                  source="schedule", enforce_limits=False)

    _act(client, "/admin/jobs/job/", "cancel_jobs", [ours.id, theirs.id])

    assert Job.objects.get(id=ours.id).status == "cancelled"
    assert Job.objects.get(id=theirs.id).status == "pending"


def test_another_organizations_rows_are_not_in_a_staff_members_changelists(
    make_user, org, other_org
):
    client = _staff(make_user, org, "jobs.view_job", "roadmap.view_project",
                    "themes.view_theme", "jobs.view_organization")
    ours = lifecycle.job_create(job_type="diagnostic", input={}, organization=org,
                                source="schedule", enforce_limits=False)
    theirs = lifecycle.job_create(job_type="diagnostic", input={}, organization=other_org,
                                  source="schedule", enforce_limits=False)
    Project.objects.create(organization=other_org, name="Globex secret project")
    Theme.objects.create(organization=other_org, name="Globex secret theme", slug="g")

    jobs = client.get("/admin/jobs/job/").content.decode()
    projects = client.get("/admin/roadmap/project/").content.decode()
    themes = client.get("/admin/themes/theme/").content.decode()
    orgs = client.get("/admin/jobs/organization/").content.decode()
    their_page = client.get(f"/admin/jobs/job/{theirs.id}/change/")

    assert str(ours.id) in jobs and str(theirs.id) not in jobs
    assert "Globex" not in jobs  # nor in the organization filter
    assert "Globex secret project" not in projects and "Globex secret theme" not in themes
    assert "Acme" in orgs and "Globex" not in orgs
    assert their_page.status_code in (302, 404)


def test_a_staff_members_foreign_key_choices_are_their_organizations(make_user, org, other_org):
    client = _staff(make_user, org, "roadmap.add_project", "roadmap.view_project")

    form = client.get("/admin/roadmap/project/add/").content.decode()

    assert "Acme" in form and "Globex" not in form


@pytest.mark.parametrize(("url", "action", "perm"), [
    ("/admin/themes/interview/", "run_scan", "themes.view_interview"),
    ("/admin/themes/theme/", "run_scan", "themes.view_theme"),
    ("/admin/roadmap/project/", "regenerate", "roadmap.view_project"),
    ("/admin/warmup/comparison/", "warm_up", "warmup.view_comparison"),
    ("/admin/warmup/comparison/", "warm_up_forecasts_now", "warmup.view_comparison"),
])
def test_view_only_staff_start_no_scan_regeneration_or_warmup(
    make_user, org, url, action, perm
):
    client = _staff(make_user, org, perm)
    interview = Interview.objects.create(organization=org, title="I", transcript="t",
                                         interviewed_at="2026-01-01")
    theme = Theme.objects.create(organization=org, name="T", slug="t")
    project = Project.objects.create(organization=org, name="P")
    comparison = Comparison.objects.create(term_a="a", term_b="b")
    ids = {"interview": interview.pk, "theme": theme.pk, "project": project.pk,
           "comparison": comparison.pk}[url.split("/")[-2]]

    _act(client, url, action, [ids])

    assert not Job.objects.exists()


def test_staff_with_change_project_regenerate_their_own_projects_only(make_user, org, other_org):
    client = _staff(make_user, org, "roadmap.view_project", "roadmap.change_project")
    ours = Project.objects.create(organization=org, name="Ours")
    theirs = Project.objects.create(organization=other_org, name="Theirs")

    _act(client, "/admin/roadmap/project/", "regenerate", [ours.pk, theirs.pk])

    assert list(Job.objects.values_list("organization_id", flat=True)) == [org.id]


def test_staff_with_run_warmup_can_start_one(make_user, org):
    client = _staff(make_user, org, "warmup.view_comparison", "warmup.run_warmup")

    _act(client, "/admin/warmup/comparison/", "warm_up_forecasts_now",
         [Comparison.objects.create(term_a="a", term_b="b").pk])

    assert Job.objects.filter(type__startswith="warmup").count() == 1
