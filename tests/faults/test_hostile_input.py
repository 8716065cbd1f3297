"""Hostile input and other tenants: every answer a clear 4xx with a JSON body, never data."""

from __future__ import annotations

import hmac
import json
import uuid
from unittest import mock

import pytest
from rest_framework.test import APIClient

from jobs import lifecycle
from tests.faults.conftest import record

# Rolled-back databases: nothing here needs a worker to see committed rows.
pytestmark = pytest.mark.django_db


def test_oversized_body_is_refused(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"type": "diagnostic", "input": {"pad": "x" * 20_000}})

    response = api.generic("POST", "/api/jobs", body, content_type="application/json")

    assert response.status_code in (400, 413)
    assert response.json()


def test_deeply_nested_json_is_a_400(api):
    body = "[" * 100_000 + "]" * 100_000

    response = api.generic("POST", "/api/jobs", body, content_type="application/json")

    assert response.status_code == 400 and "detail" in response.json()


def test_wrong_content_type_is_415(api):
    response = api.generic("POST", "/api/jobs", "type=diagnostic", content_type="text/plain")
    assert response.status_code == 415 and "detail" in response.json()


LIST_ROUTES = ["/api/jobs", "/api/interviews", "/api/themes", "/api/roadmap/projects",
               "/api/decisions", "/api/comparisons", "/api/themes/audit-entries"]


BAD_PAGING = [
    ("limit=100000000", "limit"), ("limit=99999999999999999999", "limit"), ("limit=0", "limit"),
    ("limit=-5", "limit"), ("limit=ten", "limit"), ("offset=x", "offset"),
    ("offset=-1", "offset"), ("offset=99999999999999999999", "offset"),
]


def test_huge_or_broken_paging_values_are_a_400_that_says_what_is_allowed(api):
    wrong = []
    for path in LIST_ROUTES:
        for query, field in BAD_PAGING:
            response = api.get(f"{path}?{query}")
            if response.status_code != 400 or "whole number" not in str(
                response.json().get(field)
            ):
                wrong.append(f"{path}?{query}: {response.status_code}")
    record("huge or broken limit/offset on every list", did=len(LIST_ROUTES) * len(BAD_PAGING),
           lost=len(wrong), note="400 naming the allowed range")
    assert not wrong, wrong


def test_the_largest_page_is_served_and_no_more(api, org, user):
    from jobs.api.pagination import MAX_LIMIT

    for _ in range(3):
        lifecycle.job_create(job_type="diagnostic", input={}, organization=org,
                             enforce_limits=False)
    full = api.get(f"/api/jobs?limit={MAX_LIMIT}&offset=1")
    assert full.status_code == 200 and full.json()["count"] == 3
    assert len(full.json()["results"]) == 2
    assert api.get(f"/api/jobs?limit={MAX_LIMIT + 1}").status_code == 400


@pytest.mark.parametrize("path", ["/api/jobs/not-a-uuid", "/api/jobs/123/retry",
                                  "/api/report-builder/jobs/not-a-uuid",
                                  "/api/decisions/%C3%9F/options/1", "/api/comparisons/a%09b",
                                  "/api/no-such-endpoint"])
def test_malformed_ids_are_a_json_404(api, path):
    # These never reach a view (the URL does not resolve): Django's handler answers.
    response = api.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found"


def test_pages_outside_the_api_keep_html_404(client):
    response = client.get("/decisions/not-a-uuid")
    assert response.status_code == 404 and "text/html" in response["Content-Type"]


INTERNAL = [
    ("/api/internal/jobs/theme-scan", "HTTP_X_INTERNAL_SECRET", "INTERNAL_SHARED_SECRET"),
    ("/api/jobs/warmup-forecasts", "HTTP_X_JOB_SECRET", "JOB_SECRET"),
    ("/api/jobs/warmup-ai-explanations", "HTTP_X_JOB_SECRET", "JOB_SECRET"),
    ("/api/comparison/warmup", "HTTP_X_WARMUP_SECRET", "WARMUP_SECRET"),
]


@pytest.mark.parametrize("path, header, setting", INTERNAL)
def test_internal_endpoints_refuse_bad_secrets_and_stay_closed_when_unset(
    settings, path, header, setting
):
    setattr(settings, setting, "Correct-Secret")
    body = {"org_id": str(uuid.uuid4()), "slug": "x"}
    client = APIClient()
    user_token = {"HTTP_AUTHORIZATION": "Token whatever"}
    tries = [{}, {header: "wrong"}, {header: "correct-secret"}, {header: "CORRECT-SECRET"},
             {header: "Correct-Secret "}, {header: "Correct-Secre"}, {header: ""},
             user_token, {"HTTP_X_OTHER_SECRET": "Correct-Secret"}]
    answers = [client.post(path, body, format="json", **extra) for extra in tries]
    setattr(settings, setting, "")
    unset = [client.post(path, body, format="json", **extra)
             for extra in ({header: ""}, {header: "Correct-Secret"}, {})]

    record(f"secret of {path}", did=len(tries) + len(unset),
           lost=sum(a.status_code != 401 for a in answers)
           + sum(u.status_code != 503 for u in unset),
           note="refused: missing, wrong, other case, padded, prefix, empty; unset: disabled")
    assert [a.status_code for a in answers] == [401] * len(tries)
    assert all("detail" in a.json() for a in answers + unset)
    assert [u.status_code for u in unset] == [503] * len(unset)


@pytest.mark.parametrize("path, header, setting", INTERNAL)
def test_the_right_secret_opens_each_endpoint_through_a_constant_time_compare(
    settings, path, header, setting
):
    setattr(settings, setting, "Correct-Secret")
    with mock.patch("hmac.compare_digest", wraps=hmac.compare_digest) as compare:
        response = APIClient().post(path, {"org_id": str(uuid.uuid4()), "slug": "x"},
                                    format="json", **{header: "Correct-Secret"})
    assert response.status_code not in (401, 403, 503)
    assert compare.call_count >= 1
    assert b"Correct-Secret" in compare.call_args.args


def test_metrics_token_is_refused_when_wrong_and_closed_when_unset(settings):
    from django.test import Client

    settings.OPS_METRICS_PUBLIC = False
    settings.OPS_METRICS_TOKEN = "Metrics-Token"
    client = Client()
    wrong = [client.get("/metrics", **extra).status_code for extra in (
        {}, {"HTTP_AUTHORIZATION": "Bearer metrics-token"},
        {"HTTP_AUTHORIZATION": "Bearer wrong"}, {"HTTP_AUTHORIZATION": "Token Metrics-Token"},
        {"HTTP_AUTHORIZATION": "Metrics-Token"})]
    with mock.patch("hmac.compare_digest", wraps=hmac.compare_digest) as compare:
        right = client.get("/metrics", HTTP_AUTHORIZATION="Bearer Metrics-Token").status_code
    settings.OPS_METRICS_TOKEN = ""
    unset = client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code

    assert wrong == [401] * 5
    assert right == 200 and compare.call_count == 1
    assert unset == 503


def test_admin_actions_and_dashboard_refuse_non_staff(make_user, org):
    from django.test import Client

    job = lifecycle.job_create(job_type="diagnostic", input={}, organization=org)
    client = Client()
    client.force_login(make_user(org))

    action = client.post("/admin/jobs/job/", {"action": "cancel_jobs",
                                              "_selected_action": [job.id]})
    dashboard = client.get("/ops/")

    assert action.status_code == 302 and "/admin/login/" in action["Location"]
    assert dashboard.status_code == 403
    job.refresh_from_db()
    assert job.status == "pending"


def test_a_nul_byte_in_a_query_parameter_or_field_is_a_400_not_a_500(api):
    query = api.get("/api/comparison/premium", {"slug": "a\x00b"})
    body = api.post("/api/decisions", {"title": "t\x00", "context": "x"}, format="json")

    for response in (query, body):
        assert response.status_code == 400, response.content
        assert "nul" in str(response.json()).lower()
