"""A deactivated organization is closed to its members: every jobs route, the
poll route's own SQL and the event stream answer as for a job they cannot see."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token

from jobs import lifecycle
from jobs.models import Job, Organization
from tests.bench.test_poll_fast_path import _call, _fresh_pools, asgi


def _deactivate(org: Organization) -> None:
    Organization.objects.filter(id=org.id).update(is_active=False)


@pytest.mark.django_db
def test_a_deactivated_organizations_member_gets_nothing_from_the_jobs_api(api, org, user):
    job = lifecycle.job_create(job_type="diagnostic", input={}, organization=org, user=user)
    lifecycle.job_cancel(job.id, actor="test")
    assert api.get(f"/api/jobs/{job.id}").status_code == 200
    _deactivate(org)

    listed = api.get("/api/jobs")
    detail = api.get(f"/api/jobs/{job.id}")
    events = api.get(f"/api/jobs/{job.id}/events-log")
    retry = api.post(f"/api/jobs/{job.id}/retry")
    cancel = api.delete(f"/api/jobs/{job.id}")
    create = api.post("/api/jobs", {"type": "diagnostic", "organization_id": str(org.id)},
                      format="json")
    create_default = api.post("/api/jobs", {"type": "diagnostic"}, format="json")

    assert listed.status_code == 200 and listed.json()["results"] == []
    assert detail.status_code == 404
    assert events.status_code == 404
    assert retry.status_code == 404
    assert cancel.status_code == 404
    assert create.status_code in (400, 403) and create_default.status_code in (400, 403)
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert Job.objects.filter(organization=org).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_poll_routes_sql_refuses_a_deactivated_organizations_job(user, org, monkeypatch):
    _fresh_pools(monkeypatch)
    job = lifecycle.job_create(job_type="diagnostic", input={}, organization=org, user=user)
    token = Token.objects.create(user=user).key
    path, headers = f"/api/jobs/{job.id}", {"Authorization": f"Token {token}"}
    assert _call(asgi.application, path, headers)[0] == 200
    _deactivate(org)

    routed = _call(asgi.application, path, headers)
    monkeypatch.setattr(asgi, "_poll_headers", None)  # the route off: the view's fast path
    viewed = _call(asgi.application, path, headers)

    assert routed[0] == 404 and viewed[0] == 404
    assert str(job.id).encode() not in routed[2] + viewed[2]
