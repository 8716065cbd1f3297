"""POST /api/roadmap/generate: a member of the project's organization, or the internal secret."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from jobs import lifecycle
from jobs.models import Job
from roadmap.models import Project
from tests.roadmap.conftest import SECRET

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/api/roadmap/generate"


@pytest.fixture(autouse=True)
def _queue(clean_queue):
    return None


def generate(client: APIClient, project_id, **extra):
    return client.post(URL, {"projectId": str(project_id), **extra}, format="json")


def test_anonymous_callers_and_wrong_secrets_are_401(project):
    wrong = APIClient()
    wrong.credentials(HTTP_X_INTERNAL_SECRET="nope")

    assert generate(APIClient(), project.id).status_code == 401
    assert generate(wrong, project.id).status_code == 401
    assert not Job.objects.exists()


def test_the_internal_secret_queues_a_regeneration(project):
    client = APIClient()
    client.credentials(HTTP_X_INTERNAL_SECRET=SECRET)

    response = generate(client, project.id, generateReasoning=False)

    assert response.status_code == 202
    body = response.json()
    assert body["success"] is True and body["pollUrl"] == f"/api/jobs/{body['jobId']}"
    job = Job.objects.get(id=body["jobId"])
    assert (job.type, job.source, job.user) == ("roadmap.regenerate", "internal", None)
    assert job.input == {"project_id": str(project.id), "generate_reasoning": False}


def test_a_member_queues_one_and_a_second_while_it_waits_is_409(api, user, project):
    first = generate(api, project.id)
    second = generate(api, project.id)

    assert first.status_code == 202 and second.status_code == 409
    job = Job.objects.get()
    assert (job.source, job.user, job.input["generate_reasoning"]) == ("api", user, True)


def test_an_unset_secret_closes_the_internal_way_but_not_the_members(api, project, settings):
    settings.INTERNAL_SHARED_SECRET = ""
    client = APIClient()
    client.credentials(HTTP_X_INTERNAL_SECRET="")

    assert generate(client, project.id).status_code == 503
    assert generate(api, project.id).status_code == 202


def test_another_organizations_project_is_404(api, other_org):
    theirs = Project.objects.create(organization=other_org, name="Theirs")

    assert generate(api, theirs.id).status_code == 404
    assert generate(api, uuid.uuid4()).status_code == 404
    assert not Job.objects.exists()


def test_bad_bodies_are_400_with_field_errors(api):
    missing = api.post(URL, {}, format="json")
    wrong = api.post(URL, {"projectId": "x", "generateReasoning": "sometimes"}, format="json")

    assert missing.status_code == 400 and "projectId" in missing.json()
    assert wrong.status_code == 400 and {"projectId", "generateReasoning"} <= set(wrong.json())


def test_a_user_over_the_active_job_limit_is_429(api, user, org, project):
    for _ in range(3):
        lifecycle.job_create(job_type="diagnostic", input={}, organization=org, user=user)

    response = generate(api, project.id)

    assert response.status_code == 429 and response.has_header("Retry-After")
    assert not Job.objects.filter(type="roadmap.regenerate").exists()
