"""The jobs API against the real database."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from jobs import lifecycle
from jobs.models import Job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _queue(clean_queue):
    return None


def test_create_returns_201_with_id_status_and_poll_url(api):
    response = api.post("/api/jobs", {"type": "diagnostic", "input": {"steps": 2}}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "pending"
    assert body["poll_url"] == f"/api/jobs/{body['id']}"
    job = Job.objects.get(id=body["id"])
    assert job.input == {"steps": 2, "step_seconds": 0.0, "fail": "none", "fail_times": 1,
                         "effect": False}


def test_get_returns_the_job_with_its_poll_interval(api):
    job_id = api.post("/api/jobs", {"type": "diagnostic"}, format="json").json()["id"]

    body = api.get(f"/api/jobs/{job_id}").json()

    assert body["type"] == "diagnostic"
    assert body["status"] == "pending"
    assert body["progress"] == 0
    assert body["poll_interval_ms"] == 1000
    for key in ("status_message", "output", "error", "attempts", "created_at", "started_at",
                "completed_at"):
        assert key in body


def test_unknown_type_is_400_naming_the_field(api):
    response = api.post("/api/jobs", {"type": "nope"}, format="json")

    assert response.status_code == 400
    assert "type" in response.json()


def test_invalid_input_is_400_with_field_errors(api):
    response = api.post(
        "/api/jobs", {"type": "diagnostic", "input": {"steps": -1, "fail": "sometimes"}},
        format="json",
    )

    assert response.status_code == 400
    errors = response.json()["input"]
    assert "steps" in errors and "fail" in errors
    assert Job.objects.count() == 0


def test_input_that_is_not_an_object_is_400(api):
    response = api.post("/api/jobs", {"type": "diagnostic", "input": [1, 2]}, format="json")
    assert response.status_code == 400


def test_malformed_json_is_400(api):
    response = api.generic("POST", "/api/jobs", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "detail" in response.json()


def test_unauthenticated_is_401():
    response = APIClient().get("/api/jobs")
    assert response.status_code == 401


def test_another_organizations_job_is_404(api, other_org, make_user):
    stranger = make_user(other_org)
    job = lifecycle.job_create(job_type="diagnostic", input={}, organization=other_org,
                               user=stranger)

    assert api.get(f"/api/jobs/{job.id}").status_code == 404
    assert api.delete(f"/api/jobs/{job.id}").status_code == 404
    assert api.post(f"/api/jobs/{job.id}/retry").status_code == 404
    assert job.id not in [j["id"] for j in api.get("/api/jobs").json()["results"]]


def test_etag_gives_304_until_the_job_changes(api):
    job_id = api.post("/api/jobs", {"type": "diagnostic"}, format="json").json()["id"]
    first = api.get(f"/api/jobs/{job_id}")
    etag = first["ETag"]

    unchanged = api.get(f"/api/jobs/{job_id}", HTTP_IF_NONE_MATCH=etag)
    lifecycle.job_cancel(job_id, actor="test")
    changed = api.get(f"/api/jobs/{job_id}", HTTP_IF_NONE_MATCH=etag)

    assert unchanged.status_code == 304
    assert changed.status_code == 200
    assert changed.json()["status"] == "cancelled"
    assert changed["ETag"] != etag


def test_list_filters_by_status_and_type_and_paginates(api):
    ids = [api.post("/api/jobs", {"type": "diagnostic"}, format="json").json()["id"]
           for _ in range(3)]
    api.delete(f"/api/jobs/{ids[0]}")

    pending = api.get("/api/jobs", {"status": "pending", "type": "diagnostic"}).json()
    page = api.get("/api/jobs", {"limit": 1}).json()

    assert pending["count"] == 2
    assert {j["id"] for j in pending["results"]} == set(ids[1:])
    assert page["count"] == 3 and len(page["results"]) == 1 and page["next"]
    assert api.get("/api/jobs", {"status": "bogus"}).status_code == 400


def test_delete_cancels_and_a_second_delete_is_409(api):
    job_id = api.post("/api/jobs", {"type": "diagnostic"}, format="json").json()["id"]

    first = api.delete(f"/api/jobs/{job_id}")
    second = api.delete(f"/api/jobs/{job_id}")

    assert first.status_code == 200 and first.json()["status"] == "cancelled"
    assert second.status_code == 409


def test_retry_reruns_a_cancelled_job_and_refuses_an_active_one(api):
    job_id = api.post("/api/jobs", {"type": "diagnostic"}, format="json").json()["id"]

    refused = api.post(f"/api/jobs/{job_id}/retry")
    api.delete(f"/api/jobs/{job_id}")
    retried = api.post(f"/api/jobs/{job_id}/retry")

    assert refused.status_code == 409
    assert retried.status_code == 200
    assert retried.json()["status"] == "pending"
    job = Job.objects.get(id=job_id)
    assert job.events.filter(kind="retried").count() == 1


def test_retry_of_a_failed_job_runs_it_again_to_completion(api, org, user):
    from tests.conftest import drain

    job = lifecycle.job_create(job_type="diagnostic", input={"steps": 1, "fail": "permanent"},
                               organization=org, user=user)
    drain()
    job.refresh_from_db()
    assert job.status == "failed"
    Job.objects.filter(id=job.id).update(input={"steps": 1, "fail": "none"})

    assert api.post(f"/api/jobs/{job.id}/retry").status_code == 200
    drain()

    job.refresh_from_db()
    assert job.status == "completed"
    assert job.attempts == 1


def test_the_sixth_active_job_for_an_org_is_429_with_retry_after(api, org, make_user):
    others = [make_user(org) for _ in range(2)]
    for member in others:
        for _ in range(2):
            lifecycle.job_create(job_type="diagnostic", input={}, organization=org, user=member)
    api.post("/api/jobs", {"type": "diagnostic"}, format="json")

    response = api.post("/api/jobs", {"type": "diagnostic"}, format="json")

    assert response.status_code == 429
    assert response["Retry-After"].isdigit()
    assert response.json()["detail"] == "Too many active jobs. Please wait for some to complete."
    assert Job.objects.filter(organization=org).count() == 5


def test_the_fourth_active_job_for_a_user_is_429(api):
    codes = [api.post("/api/jobs", {"type": "diagnostic"}, format="json").status_code
             for _ in range(4)]
    assert codes == [201, 201, 201, 429]


def test_the_third_active_job_for_a_decision_is_429(api, org, make_user):
    import uuid

    decision = str(uuid.uuid4())
    other = make_user(org)
    lifecycle.job_create(job_type="diagnostic", input={}, organization=org, user=other,
                         decision_id=decision)
    codes = [api.post("/api/jobs", {"type": "diagnostic", "decision_id": decision},
                      format="json").status_code for _ in range(2)]
    assert codes == [201, 429]


def test_finished_jobs_do_not_count_against_the_limit(api):
    for _ in range(3):
        job_id = api.post("/api/jobs", {"type": "diagnostic"}, format="json").json()["id"]
        api.delete(f"/api/jobs/{job_id}")

    assert api.post("/api/jobs", {"type": "diagnostic"}, format="json").status_code == 201


def test_schema_documents_every_jobs_endpoint(api):
    response = api.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/api/jobs", "/api/jobs/{job_id}", "/api/jobs/{job_id}/retry"):
        assert path in paths
    assert {"get", "post"} <= set(paths["/api/jobs"])
    assert {"get", "delete"} <= set(paths["/api/jobs/{job_id}"])


def test_the_browsable_docs_serve_swagger_ui_from_this_server_not_a_cdn(api):
    from django.contrib.staticfiles import finders

    page = api.get("/api/docs/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn.jsdelivr.net" not in html and "unpkg.com" not in html
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert "/api/schema/" in html


def test_job_types_lists_the_diagnostic_type(api):
    names = [t["name"] for t in api.get("/api/jobs/types").json()]
    assert "diagnostic" in names
