"""The seed's limits as users meet them: what people start, per organization, per
person across organizations, per decision; scheduled and internal jobs aside."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from django.db import connections
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from jobs import lifecycle
from jobs.errors import AdmissionRefused
from jobs.models import Job, Membership
from roadmap.models import Project
from roadmap.services import roadmap_refresh_schedule


def _client(user: Any) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.mark.django_db
def test_five_scheduled_jobs_leave_a_users_create_at_201(api, org):
    for n in range(5):
        Project.objects.create(organization=org, name=f"P{n}")
    assert roadmap_refresh_schedule()["queued"] == 5
    assert Job.objects.filter(organization=org, status="pending").count() == 5

    response = api.post("/api/jobs", {"type": "diagnostic"}, format="json")

    assert response.status_code == 201


@pytest.mark.django_db
def test_internal_and_event_jobs_do_not_count_either(api, org):
    for source in ("internal", "event", "admin", "schedule", "internal"):
        lifecycle.job_create(job_type="diagnostic", input={}, organization=org, source=source,
                             enforce_limits=False)

    codes = [api.post("/api/jobs", {"type": "diagnostic"}, format="json").status_code
             for _ in range(4)]

    assert codes == [201, 201, 201, 429]


@pytest.mark.django_db
def test_three_active_jobs_in_one_org_make_the_persons_fourth_in_another_a_429(
    api, user, other_org
):
    Membership.objects.create(user=user, organization=other_org)
    for _ in range(3):
        assert api.post("/api/jobs", {"type": "diagnostic"}, format="json").status_code == 201

    response = api.post("/api/jobs", {"type": "diagnostic", "organization_id": str(other_org.id)},
                        format="json")

    assert response.status_code == 429
    assert response.json()["scope"] == "user"
    assert not Job.objects.filter(organization=other_org).exists()


@pytest.mark.django_db
def test_the_organization_limit_counts_what_members_start(org, make_user):
    members = [make_user(org) for _ in range(3)]
    codes = []
    for member in members:
        client = _client(member)
        codes += [client.post("/api/jobs", {"type": "diagnostic"}, format="json").status_code
                  for _ in range(2)]
    assert codes == [201, 201, 201, 201, 201, 429]


@pytest.mark.parametrize("round_", range(2))
@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_of_one_person_in_two_orgs_accept_exactly_three(
    org, other_org, make_user, clean_queue, round_
):
    person = make_user(org)
    Membership.objects.create(user=person, organization=other_org)
    barrier = threading.Barrier(12)
    outcomes: list[str] = []
    guard = threading.Lock()

    def attempt(organization: Any) -> None:
        try:
            barrier.wait()
            try:
                lifecycle.job_create(job_type="diagnostic", input={}, organization=organization,
                                     user=person, decision_id=uuid.uuid4())
                result = "accepted"
            except AdmissionRefused as refused:
                result = refused.scope
            with guard:
                outcomes.append(result)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(org if n % 2 else other_org,))
               for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert outcomes.count("accepted") == 3
    assert outcomes.count("user") == 9
    assert Job.objects.filter(user=person).count() == 3
