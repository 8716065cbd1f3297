"""/metrics for Prometheus, /api/ops/summary and the dashboard, and who may see them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from jobs import lifecycle
from ops import alerts
from tests.ops.conftest import active, finished, stale_pending

pytestmark = pytest.mark.django_db


def scrape(client: Client, **headers: Any) -> dict:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return {family.name: family for family in
            text_string_to_metric_families(response.content.decode())}


def samples(family, label: str = "type") -> dict[str, float]:
    return {s.labels[label]: s.value for s in family.samples}


def test_metrics_parse_with_the_prometheus_parser_and_carry_the_figures():
    now = timezone.now()
    for seconds in (1, 2, 3, 4):
        finished(now=now, duration=seconds)
    finished(now=now, status="failed")
    active(now=now, waited=dt.timedelta(minutes=2))
    stale_pending(6)

    families = scrape(Client(), HTTP_AUTHORIZATION="Bearer metrics-token")

    completed = samples(families["plinth_jobs_completed_last_hour"])
    assert {name: value for name, value in completed.items() if value} == {
        "all": 4.0, "diagnostic": 4.0}
    assert completed["market_research"] == 0.0  # every registered type has its series
    assert samples(families["plinth_jobs_failure_ratio"])["diagnostic"] == 0.2
    assert samples(families["plinth_jobs_duration_avg_seconds"])["diagnostic"] == 2.5
    assert samples(families["plinth_jobs_duration_p95_seconds"])["all"] == pytest.approx(3.85)
    assert samples(families["plinth_jobs_pending"])["all"] == 7.0
    assert samples(families["plinth_jobs_stuck"])["all"] == 6.0
    assert samples(families["plinth_jobs_oldest_pending_seconds"])["all"] >= 600
    assert samples(families["plinth_queue_todo"], "queue") == {"default": 6.0}
    for name in ("plinth_jobs_created_last_hour", "plinth_jobs_retries_last_hour",
                 "plinth_jobs_running", "plinth_alert_active"):
        assert families[name].type == "gauge"


def test_metrics_show_which_alerts_are_firing():
    stale_pending(6)
    alerts.alerts_evaluate()

    families = scrape(Client(), HTTP_AUTHORIZATION="Bearer metrics-token")

    firing = {(s.labels["alert"], s.labels["severity"]): s.value
              for s in families["plinth_alert_active"].samples}
    assert firing == {("stuck-jobs", "remediate"): 1.0}


@pytest.mark.parametrize("header", [
    {}, {"HTTP_AUTHORIZATION": "Bearer wrong"}, {"HTTP_AUTHORIZATION": "Token metrics-token"},
    {"HTTP_AUTHORIZATION": "metrics-token"},
])
def test_metrics_refuse_a_missing_or_wrong_token(header):
    response = Client().get("/metrics", **header)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert b"plinth_jobs" not in response.content


def test_metrics_are_disabled_without_a_token_and_open_only_when_public(settings):
    settings.OPS_METRICS_TOKEN = ""
    disabled = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ")
    settings.OPS_METRICS_PUBLIC = True
    public = Client().get("/metrics")

    assert disabled.status_code == 503
    assert public.status_code == 200
    assert "plinth_jobs_pending" in {f.name for f in
                                     text_string_to_metric_families(public.content.decode())}


def test_summary_api_is_for_staff_only(make_user, org):
    staff, member = make_user(org, is_staff=True), make_user(org)
    finished(now=timezone.now(), status="failed")
    stale_pending(6)
    alerts.alerts_evaluate()
    lifecycle.job_create(job_type="diagnostic", input={}, source="internal")
    as_staff, as_member = APIClient(), APIClient()
    as_staff.force_authenticate(staff)
    as_member.force_authenticate(member)

    data = as_staff.get("/api/ops/summary").json()

    assert data["overall"]["failed_last_hour"] == 7  # 1, and the 6 the auto-fix expired
    assert data["overall"]["stuck"] == 0
    assert any(t["type"] == "diagnostic" for t in data["types"])
    assert data["overall"]["pending"] == 1
    assert data["queues"] == [{"queue": "default", "todo": 1, "doing": 0, "pending_jobs": 1}]
    assert [a["key"] for a in data["alerts"]["active"]] == ["stuck-jobs"]
    assert data["alerts"]["recent"][0]["action"] == "fired"
    assert as_member.get("/api/ops/summary").status_code == 403
    assert APIClient().get("/api/ops/summary").status_code in (401, 403)


def test_schema_documents_the_summary(make_user, org):
    client = APIClient()
    client.force_authenticate(make_user(org))

    paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]

    assert "get" in paths["/api/ops/summary"]


def test_dashboard_renders_figures_charts_alerts_and_admin_links_for_staff(make_user, org):
    now = timezone.now()
    for seconds in (1, 2, 3):
        finished(now=now, duration=seconds, ago=dt.timedelta(hours=2))
    for _ in range(5):
        finished(now=now, status="failed")
    finished(now=now)
    for _ in range(2):
        active(now=now, waited=dt.timedelta(minutes=10))
    alerts.alerts_evaluate()  # 5 of 6 failed: a page; 2 stuck: under the threshold
    client = Client()
    client.force_login(make_user(org, is_staff=True))

    page = client.get("/ops/")

    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('role="img" aria-label="') == 3
    assert 'aria-label="Jobs finished per hour by status"' in html
    assert '<strong id="stuck" class="bad">2</strong>' in html
    assert '<strong id="failure-rate" class="bad">83%</strong>' in html
    assert html.count("Failure rate 83% over the last hour") == 2  # active, and the history
    assert 'href="/admin/jobs/job/?status__exact=failed"' in html
    assert 'href="/admin/jobs/job/?status__exact=failed&amp;type__exact=diagnostic"' in html


def test_dashboard_escapes_job_type_names(make_user, org):
    finished(now=timezone.now(), type="<script>x</script>")
    client = Client()
    client.force_login(make_user(org, is_staff=True))

    html = client.get("/ops/").content.decode()

    assert "<script>x</script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html


def test_dashboard_is_refused_to_members_and_anonymous_visitors(make_user, org):
    member = Client()
    member.force_login(make_user(org))

    refused = member.get("/ops/")
    anonymous = Client().get("/ops/")

    assert refused.status_code == 403  # the product's 403 page, in the shell
    assert "You cannot open this page" in refused.content.decode()
    assert "Failure rate" not in refused.content.decode()
    assert anonymous.status_code == 302
    assert anonymous["Location"] == "/accounts/login/?next=/ops/"
