"""One way in for creating a job (issue 19): `job_create` checks the input and the
scope itself (`JobType.prepare`), whatever the entrance; and one answer to "which
organization does this create go in" for every create API."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from procrastinate.contrib.django.models import ProcrastinateJob

from jobs import lifecycle, selectors
from jobs.errors import InvalidJobInput, InvalidJobScope
from jobs.models import Job, Membership

pytestmark = pytest.mark.django_db


def nothing_queued() -> bool:
    return not Job.objects.exists() and not ProcrastinateJob.objects.exists()


def test_job_create_refuses_bad_input_and_writes_nothing(org):
    with pytest.raises(InvalidJobInput) as refused:
        lifecycle.job_create(job_type="diagnostic", input={"steps": "many"}, organization=org)

    assert set(refused.value.errors) == {"steps"}
    assert nothing_queued()


def test_job_create_hands_the_handler_the_validated_input(org):
    job = lifecycle.job_create(job_type="diagnostic", input={"steps": "2"}, organization=org)

    assert job.input["steps"] == 2 and job.input["step_seconds"] == 0  # coerced, defaults
    assert Job.objects.get(id=job.id).input == job.input


def test_job_run_of_a_decision_type_without_a_decision_is_refused_not_queued(org):
    with pytest.raises(CommandError, match="competitor_analysis needs a decision_id"):
        call_command("job_run", "competitor_analysis", "--org", org.slug, "--no-wait",
                     "--input", '{"company_name": "Acme", "company_url": "https://acme.example"}')

    assert nothing_queued()


def test_job_run_of_a_decision_type_with_its_decision_is_queued(org):
    from competitors.models import Decision

    decision = Decision.objects.create(organization=org, title="Launch?")

    call_command("job_run", "competitor_analysis", "--org", org.slug, "--no-wait",
                 "--decision", str(decision.id),
                 "--input", '{"company_name": "Acme", "company_url": "https://acme.example"}')

    job = Job.objects.get()
    assert (job.type, job.decision_id, job.status) == ("competitor_analysis", decision.id,
                                                       "pending")


def test_another_organizations_decision_is_refused_from_any_entrance(org, other_org):
    from competitors.models import Decision

    theirs = Decision.objects.create(organization=other_org, title="Theirs")

    with pytest.raises(InvalidJobScope) as refused:
        lifecycle.job_create(job_type="brief_generation", input={}, organization=org,
                             decision_id=theirs.id, source="task")

    assert "decision_id" in refused.value.errors
    assert nothing_queued()


def test_roadmap_service_with_bad_input_is_refused(org):
    from roadmap.models import Project
    from roadmap.services import roadmap_regenerate_start

    project = Project.objects.create(organization=org, name="Core")

    with pytest.raises(InvalidJobInput) as refused:
        roadmap_regenerate_start(project=project, generate_reasoning="perhaps",  # type: ignore[arg-type]
                                 source="schedule")

    assert set(refused.value.errors) == {"generate_reasoning"}
    assert nothing_queued()


def test_the_django_task_backend_checks_its_input_too(org):
    with pytest.raises(InvalidJobInput) as refused:
        lifecycle.job_create(job_type="django_task", input={"task": "not a path", "args": 3},
                             organization=org, source="task")

    assert {"task", "backend", "args"} <= set(refused.value.errors)
    assert nothing_queued()


# --- which organization a create goes in ---------------------------------------------

CREATES = [
    # (path, body, the body's name for the organization)
    ("/api/jobs", {"type": "diagnostic", "input": {}}, "organization_id"),
    ("/api/decisions", {"title": "Launch?"}, "organization_id"),
    ("/api/roadmap/projects", {"name": "Core"}, "organization"),
    ("/api/interviews", {"title": "Call", "interviewed_at": "2026-01-02",
                         "quotes": ["Too slow"]}, "organization"),
]


@pytest.mark.parametrize(("path", "body", "field"), CREATES)
def test_an_organization_you_are_not_a_member_of_is_the_same_400_everywhere(
    api, other_org, path, body, field
):
    response = api.post(path, {**body, field: str(other_org.id)}, format="json")

    assert response.status_code == 400
    assert response.json() == {field: [selectors.NOT_A_MEMBER]}


@pytest.mark.parametrize(("path", "body", "field"), CREATES)
def test_no_organization_at_all_is_the_same_400_everywhere(api, user, path, body, field):
    Membership.objects.filter(user=user).delete()

    response = api.post(path, body, format="json")

    assert response.status_code == 400
    assert response.json() == {field: [selectors.NO_ORGANIZATION]}


@pytest.mark.parametrize(("path", "body", "field"), CREATES)
def test_your_own_organization_is_used(api, org, path, body, field):
    named = api.post(path, {**body, field: str(org.id)}, format="json")
    default = api.post(path, body, format="json")

    assert named.status_code in (201, 202), named.json()
    assert default.status_code in (201, 202), default.json()
