"""Hostile input and other tenants: every answer a clear 4xx with a JSON body, never data."""

from __future__ import annotations

import hmac
import json
import uuid
from typing import Any
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


def test_a_project_cannot_name_another_tenants_slack_channel_or_jira_project(api, org, other_org):
    from jobs.integrations.models import OrganizationIntegrationSettings
    from roadmap.models import Project

    OrganizationIntegrationSettings.objects.create(
        organization=other_org, slack_channels=["#globex-board"], jira_project_keys=["GLX"])
    tries = [{"slack_channel": "#globex-board"}, {"slack_channel": "globex-board"},
             {"slack_channel": "#GLOBEX-BOARD"}, {"jira_project_key": "GLX"},
             {"jira_project_key": "glx"}, {"slack_channel": "C0123456789"}]
    refused = 0
    for extra in tries:
        response = api.post("/api/roadmap/projects", {"name": "Hijack", **extra}, format="json")
        refused += response.status_code == 400 and "not allowed" in str(response.json())
    record("projects pointed at another tenant's Slack channel or Jira project",
           did=len(tries), lost=len(tries) - refused, note="400 on the field")
    assert refused == len(tries)
    assert not Project.objects.filter(name="Hijack").exists()


HOSTILE_ADDRESSES = ["127.0.0.1", "10.0.0.8", "169.254.169.254", "::1", "64:ff9b::7f00:1",
                     "64:ff9b::a9fe:a9fe", "2002:7f00:1::", "::127.0.0.1", "::ffff:10.0.0.8",
                     "fd00::1", "100.64.0.1", "0.0.0.0"]


def test_company_urls_that_resolve_inside_are_refused_without_naming_the_address(
    monkeypatch, settings
):
    import socket

    import urllib3.util.connection

    from competitors import scraper
    from jobs.errors import InvalidInputError

    settings.COMPETITORS_SCRAPE_ALLOW_PRIVATE_HOSTS = []
    answers: dict[str, str] = {}
    connects: list[Any] = []

    def resolve(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        address = answers[str(host)]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setattr(urllib3.util.connection, "create_connection",
                        lambda *a, **k: connects.append(a))
    leaked = refused = 0
    for n, address in enumerate(HOSTILE_ADDRESSES):
        host = f"intranet-{n}.example"
        answers[host] = address
        try:
            scraper.scrape(f"http://{host}/")
        except InvalidInputError as exc:
            refused += "not allowed" in str(exc)
            leaked += address in str(exc)
    record("company URLs resolving to internal addresses (IPv4, IPv6, NAT64, 6to4)",
           did=len(HOSTILE_ADDRESSES), lost=len(HOSTILE_ADDRESSES) - refused + leaked,
           note="refused as not allowed; the address is never named")
    assert refused == len(HOSTILE_ADDRESSES) and leaked == 0 and connects == []


def test_one_person_in_two_organizations_cannot_double_their_active_jobs(api, user, other_org):
    from jobs.models import Membership

    Membership.objects.create(user=user, organization=other_org)
    codes = []
    for n in range(8):
        body = {"type": "diagnostic"}
        if n % 2:
            body["organization_id"] = str(other_org.id)
        codes.append(api.post("/api/jobs", body, format="json").status_code)
    record("one person's creates across two organizations", did=len(codes),
           lost=abs(codes.count(201) - 3), note="3 accepted in all, then 429 (scope user)")
    assert codes.count(201) == 3 and codes.count(429) == 5
