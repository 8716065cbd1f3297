"""POST /api/internal/jobs/theme-scan: the seed's contract, end to end with a real worker."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from jobs.models import Job
from tests.themes.builders import WORDS, interviews_about
from themes.models import AuditEntry, Theme

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/api/internal/jobs/theme-scan"


def scan(client: APIClient, org, **body):
    return client.post(URL, {"org_id": str(org.id), **body}, format="json")


@pytest.mark.parametrize("header", [None, "", "wrong", "S3CRET-VALUE", "s3cret-value "])
def test_a_missing_or_wrong_secret_is_401_and_queues_nothing(org, header):
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_X_INTERNAL_SECRET=header)

    response = scan(client, org)

    assert response.status_code == 401
    assert Job.objects.count() == 0


def test_a_user_token_is_no_way_in(org, api):
    assert scan(api, org).status_code == 401


def test_an_unset_secret_disables_the_endpoint(org, internal, settings):
    settings.INTERNAL_SHARED_SECRET = ""

    assert scan(internal, org).status_code == 503
    assert scan(APIClient(), org).status_code == 503


def test_bad_bodies_are_400_with_field_errors(org, internal):
    missing = internal.post(URL, {}, format="json")
    wrong = scan(internal, org, lookback_days="many", max_interviews=0, dry_run="maybe")
    not_uuid = internal.post(URL, {"org_id": "acme"}, format="json")

    assert missing.status_code == 400 and "org_id" in missing.json()
    assert wrong.status_code == 400
    assert {"lookback_days", "max_interviews", "dry_run"} <= set(wrong.json())
    assert not_uuid.status_code == 400 and "org_id" in not_uuid.json()
    assert Job.objects.count() == 0


def test_an_unknown_or_inactive_organization_is_404(org, internal):
    org.is_active = False
    org.save()

    assert internal.post(URL, {"org_id": str(uuid.uuid4())}, format="json").status_code == 404
    assert scan(internal, org).status_code == 404


def test_a_finished_scan_answers_the_seeds_body(org, internal, background_worker):
    interviews_about(org, WORDS[:3])
    background_worker()

    response = scan(internal, org, lookback_days=30, max_interviews=50)

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    result = body["result"]
    assert set(result) >= {"dry_run", "themes_created", "themes_updated", "links_created",
                           "skipped", "themes"}
    assert result["offline"] is True  # no API key: the offline provider answered, and says so
    assert (result["dry_run"], result["themes_created"], result["themes_updated"]) == (False, 3, 0)
    assert result["links_created"] == 6 and result["skipped"] == []
    pricing = next(t for t in result["themes"] if t["slug"] == "pricing")
    assert set(pricing) == {"name", "slug", "confidence_score", "occurrences", "action"}
    assert (pricing["name"], pricing["occurrences"], pricing["action"]) == ("Pricing", 2, "created")
    assert 0 < pricing["confidence_score"] <= 1


def test_the_scan_job_shows_in_the_jobs_api_for_the_organizations_members(
        org, internal, api, background_worker):
    interviews_about(org, WORDS[:2])
    background_worker()
    scan(internal, org)

    listed = api.get("/api/jobs").json()["results"]

    assert [(j["type"], j["status"]) for j in listed] == [("themes.scan", "completed")]


def test_past_the_wait_window_the_answer_is_202_with_the_job_to_poll(
        org, internal, api, settings, clean_queue):
    settings.THEME_SCAN_WAIT_SECONDS = 0.2  # and no worker: the scan stays queued

    response = scan(internal, org, dry_run=True)

    assert response.status_code == 202
    body = response.json()
    assert body["success"] is True and body["status"] == "pending"
    assert body["poll_url"] == f"/api/jobs/{body['job_id']}"
    polled = api.get(body["poll_url"]).json()
    assert (polled["type"], polled["input"]["dry_run"]) == ("themes.scan", True)


def test_a_second_scan_while_one_is_queued_is_409(org, internal, settings, clean_queue):
    settings.THEME_SCAN_WAIT_SECONDS = 0

    first, second = scan(internal, org), scan(internal, org)

    assert (first.status_code, second.status_code) == (202, 409)
    assert Job.objects.filter(type="themes.scan").count() == 1


def test_a_scan_that_fails_answers_500_with_the_error(org, internal, fake_openai,
                                                      background_worker):
    interviews_about(org, WORDS[:2])
    fake_openai.fail_next(401, message="Incorrect API key provided")
    background_worker()

    response = scan(internal, org)

    assert response.status_code == 500
    body = response.json()
    assert body["success"] is False and body["error"]
    assert Job.objects.get(id=body["job_id"]).error_kind == "auth"
    assert not Theme.objects.exists() and not AuditEntry.objects.exists()
