"""The warmup endpoints: secrets, bounds, the fire-and-forget trigger, comparisons."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from jobs.models import Job
from tests.warmup.conftest import make_comparison
from warmup import names

SECRET_ENDPOINTS = [
    ("/api/jobs/warmup-forecasts", "HTTP_X_JOB_SECRET", "JOB_SECRET"),
    ("/api/jobs/warmup-ai-explanations", "HTTP_X_JOB_SECRET", "JOB_SECRET"),
    ("/api/comparison/warmup", "HTTP_X_WARMUP_SECRET", "WARMUP_SECRET"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "header", "setting"), SECRET_ENDPOINTS)
@pytest.mark.parametrize("given", [None, "", "wrong", "JOB-SECRET", "job-secret ", "warmup"])
def test_a_missing_or_wrong_secret_is_401(secrets, path, header, setting, given):
    make_comparison("c", views=1)
    headers = {} if given is None else {header: given}

    response = APIClient().post(path, {"slug": "c"}, format="json", **headers)

    assert response.status_code == 401
    assert "header" in response.json()["detail"]
    assert Job.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "header", "setting"), SECRET_ENDPOINTS)
def test_an_unset_secret_disables_the_endpoint_with_503(settings, path, header, setting):
    setattr(settings, setting, "")

    response = APIClient().post(path, {}, format="json", **{header: ""})

    assert response.status_code == 503
    assert response.json()["detail"] == f"This endpoint is disabled: {setting} is not set."


@pytest.mark.django_db
def test_the_job_secret_does_not_open_the_warmup_endpoint_nor_the_reverse(secrets):
    client = APIClient()

    on_demand = client.post("/api/comparison/warmup", {"slug": "c"}, format="json",
                            HTTP_X_WARMUP_SECRET="job-secret")
    forecasts = client.post("/api/jobs/warmup-forecasts", {}, format="json",
                            HTTP_X_JOB_SECRET="warmup-secret")

    assert on_demand.status_code == forecasts.status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "body", "fields"), [
    ("/api/jobs/warmup-forecasts", {"limit": 51}, {"limit"}),
    ("/api/jobs/warmup-forecasts", {"limit": 0, "concurrency": 6}, {"limit", "concurrency"}),
    ("/api/jobs/warmup-forecasts", {"concurrency": "many"}, {"concurrency"}),
    ("/api/jobs/warmup-forecasts", {"limit": 2.5}, {"limit"}),
    ("/api/jobs/warmup-ai-explanations", {"limit": 31}, {"limit"}),
    ("/api/jobs/warmup-ai-explanations", {"concurrency": 4}, {"concurrency"}),
    ("/api/jobs/warmup-ai-explanations", [1, 2], {"non_field_errors"}),
])
def test_out_of_bounds_bodies_are_400(job_client, path, body, fields):
    response = job_client(path, body)

    assert response.status_code == 400
    assert set(response.json()) == fields
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_a_trigger_queues_one_internal_job_with_the_seeds_defaults(job_client):
    forecasts = job_client("/api/jobs/warmup-forecasts")
    explanations = job_client("/api/jobs/warmup-ai-explanations", {"limit": 5})

    assert forecasts.status_code == explanations.status_code == 202
    jobs = {job.type: job for job in Job.objects.all()}
    assert jobs[names.FORECASTS].input == {"limit": 50, "concurrency": 5}
    assert jobs[names.AI_EXPLANATIONS].input == {"limit": 5, "concurrency": 3}
    assert {job.source for job in jobs.values()} == {"internal"}
    assert forecasts.json()["jobId"] == str(jobs[names.FORECASTS].id)


@pytest.mark.django_db
def test_a_second_trigger_while_one_is_queued_is_429(job_client):
    first = job_client("/api/jobs/warmup-forecasts", {"limit": 3})
    second = job_client("/api/jobs/warmup-forecasts", {"limit": 3})
    other_type = job_client("/api/jobs/warmup-ai-explanations")

    assert first.status_code == 202 and other_type.status_code == 202
    assert second.status_code == 429 and second["Retry-After"] == "60"
    assert second.json()["error"] == (
        f"A warmup-forecasts job is already queued (job {first.json()['jobId']}); "
        "try again when it has finished.")
    assert Job.objects.filter(type=names.FORECASTS).count() == 1


@pytest.mark.django_db
def test_the_on_demand_trigger_answers_at_once_and_queues_one_per_comparison(job_client):
    comparison = make_comparison("od")
    make_comparison("od-other")

    first = job_client("/api/comparison/warmup", {"slug": "od"})
    second = job_client("/api/comparison/warmup", {"slug": "od", "dataHash": "whatever"})
    other = job_client("/api/comparison/warmup", {"slug": "od-other"})

    assert first.status_code == second.status_code == other.status_code == 202
    assert first.json() == {"success": True, "jobId": first.json()["jobId"],
                            "alreadyQueued": False, "slug": "od",
                            "dataHash": comparison.data_hash}
    assert second.json()["alreadyQueued"] is True
    assert second.json()["jobId"] == first.json()["jobId"]
    job = Job.objects.get(id=first.json()["jobId"])
    assert (job.type, job.status, job.scope) == (
        names.ON_DEMAND, "pending", f"comparison:od:{comparison.data_hash}")
    assert Job.objects.filter(type=names.ON_DEMAND).count() == 2


@pytest.mark.django_db
def test_the_on_demand_trigger_needs_a_known_slug(job_client):
    assert job_client("/api/comparison/warmup", {}).status_code == 400
    assert job_client("/api/comparison/warmup", {"slug": "nope"}).status_code == 404


@pytest.mark.django_db
def test_the_run_logs_endpoint_needs_the_job_secret(secrets):
    client = APIClient()

    assert client.get("/api/jobs/warmup-runs").status_code == 401
    listing = client.get("/api/jobs/warmup-runs", HTTP_X_JOB_SECRET="job-secret")
    bad = client.get("/api/jobs/warmup-runs", {"jobId": "x"}, HTTP_X_JOB_SECRET="job-secret")

    assert listing.status_code == 200 and listing.json() == []
    assert bad.status_code == 400


# --- comparisons ------------------------------------------------------------------------


BODY = {"slug": "tea-vs-coffee", "termA": "tea", "termB": "coffee",
        "seriesA": [10, 12, 14], "seriesB": [30, 29, 28], "seriesStart": "2026-01-05"}


@pytest.mark.django_db
def test_comparisons_need_a_signed_in_user():
    assert APIClient().get("/api/comparisons").status_code == 401
    assert APIClient().post("/api/comparisons", BODY, format="json").status_code == 401
    assert APIClient().get("/api/comparison/premium", {"slug": "x"}).status_code == 401


@pytest.mark.django_db
def test_a_comparison_is_created_with_its_data_hash(api):
    created = api.post("/api/comparisons", BODY, format="json")
    same = api.post("/api/comparisons", BODY, format="json")

    assert created.status_code == 201
    body = created.json()
    assert body["dataHash"] and len(body["dataHash"]) == 16
    assert body["seriesA"] == [10.0, 12.0, 14.0] and body["viewCount"] == 0
    assert same.status_code == 400 and "slug" in same.json()
    assert api.get("/api/comparisons/tea-vs-coffee").json()["dataHash"] == body["dataHash"]


@pytest.mark.django_db
@pytest.mark.parametrize(("change", "field"), [
    ({"seriesB": [1, 2]}, "seriesB"),
    ({"seriesA": [1]}, "seriesA"),
    ({"seriesA": [1, -2, 3]}, "seriesA"),
    ({"termA": ""}, "termA"),
    ({"slug": "not a slug"}, "slug"),
])
def test_bad_comparisons_are_400(api, change, field):
    response = api.post("/api/comparisons", {**BODY, **change}, format="json")

    assert response.status_code == 400 and field in response.json()


@pytest.mark.django_db
def test_only_the_creator_or_staff_replace_the_series(api, make_user, org):
    api.post("/api/comparisons", BODY, format="json")
    old_hash = api.get("/api/comparisons/tea-vs-coffee").json()["dataHash"]
    stranger = APIClient()
    stranger.force_authenticate(make_user(org))
    staff = APIClient()
    staff.force_authenticate(make_user(org, is_staff=True))
    series = {"seriesA": [1, 2, 3, 4], "seriesB": [4, 3, 2, 1]}

    refused = stranger.put("/api/comparisons/tea-vs-coffee/series", series, format="json")
    replaced = api.put("/api/comparisons/tea-vs-coffee/series", series, format="json")
    by_staff = staff.put("/api/comparisons/tea-vs-coffee/series",
                         {**series, "seriesStart": "2026-02-02"}, format="json")

    assert refused.status_code == 403
    assert replaced.status_code == 200 and replaced.json()["dataHash"] != old_hash
    assert replaced.json()["seriesA"] == [1.0, 2.0, 3.0, 4.0]
    assert by_staff.status_code == 200
    assert by_staff.json()["dataHash"] != replaced.json()["dataHash"]  # the start counts
    assert api.put("/api/comparisons/nope/series", series, format="json").status_code == 404
