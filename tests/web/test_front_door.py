"""The front door without a browser: who sees the home page, the words progress is told
in, the measured duration hint, the error pages' shell and Markdown made safe."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.template import loader
from django.test import Client
from django.utils import timezone

from competitors.models import Decision
from jobs import lifecycle
from jobs.models import Job
from jobs.selectors import duration_hint, measured_durations
from reports.models import Document
from web.templatetags.ui import render_markdown

pytestmark = pytest.mark.django_db


def finished_runs(org, job_type: str, seconds: list[float]) -> None:
    now = timezone.now()
    for s in seconds:
        # Finished rows only (what the hint measures): no queue entry, no input to check.
        Job.objects.create(type=job_type, input={}, organization=org, status="completed",
                           started_at=now - dt.timedelta(seconds=s), completed_at=now)


def test_anonymous_visitors_are_sent_to_the_products_sign_in_page():
    response = Client().get("/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/"
    page = Client().get("/accounts/login/?next=/").content.decode()
    assert "<h1>" in page and "Sign in" in page and "Django administration" not in page


def test_the_home_page_lists_the_members_jobs_decisions_and_reports(client, org, user):
    client.force_login(user)
    decision = Decision.objects.create(organization=org, created_by=user, title="Pricing tier?")
    document = Document.objects.create(organization=org, title="Q3 review")
    first = lifecycle.job_create(job_type="brief_generation", input={}, organization=org,
                                 user=user, decision_id=decision.id)
    second = lifecycle.job_create(job_type="brief_generation", input={}, organization=org,
                                  user=user, decision_id=decision.id)
    failed = lifecycle.job_create(job_type="diagnostic", input={}, organization=org, user=user)
    Job.objects.filter(id=failed.id).update(status="failed", error="The provider timed out.")

    html = client.get("/").content.decode()

    assert f'href="/decisions/{decision.id}"' in html and "Pricing tier?" in html
    assert f'href="/report-builder/{document.id}"' in html and "Q3 review" in html
    assert f'id="home-job-{first.id}"' in html and f'id="home-job-{second.id}"' in html
    assert "Waiting for a worker to start it (1st in line)" in html
    assert "Waiting for a worker to start it (2nd in line)" in html
    assert "The provider timed out." in html and ">Failed<" in html
    assert f'class="shell-org" title="Your organization">{org.name}<' in html


def test_the_typical_duration_follows_what_the_type_measured(api, org):
    types = {t["name"]: t for t in api.get("/api/jobs/types").json()}
    assert types["option_analysis"]["typical_duration"] == "10-20 seconds"  # written
    assert types["option_analysis"]["measured_duration"] is None

    finished_runs(org, "option_analysis", [0.3, 0.4, 0.5, 0.4])

    types = {t["name"]: t for t in api.get("/api/jobs/types").json()}
    assert types["option_analysis"]["typical_duration"] == "under a second"
    assert types["option_analysis"]["measured_duration"]["runs"] == 4
    assert types["competitor_analysis"]["typical_duration"] == "30-90 seconds"


def test_the_decision_page_hands_the_modal_the_measured_hint(client, org, user):
    client.force_login(user)
    decision = Decision.objects.create(organization=org, created_by=user, title="T")
    finished_runs(org, "competitor_analysis", [4, 4, 6, 6])

    html = client.get(f"/decisions/{decision.id}").content.decode()

    data = html.split('<script id="job-types" type="application/json">')[1].split("</script>")[0]
    assert json.loads(data)["competitor_analysis"]["typical_duration"] == "4-6 seconds"


@pytest.mark.parametrize(("measured", "words"), [
    (None, "30-90 seconds"),
    ({"p25": 0.2, "p75": 0.6}, "under a second"),
    ({"p25": 12.2, "p75": 12.4}, "about 12 seconds"),
    ({"p25": 8, "p75": 31}, "8-31 seconds"),
    ({"p25": 40, "p75": 150}, "40 seconds to 2 minutes"),
])
def test_duration_hints_read_as_words(measured, words):
    assert duration_hint(measured, "30-90 seconds") == words


def test_too_few_runs_measure_nothing(org):
    finished_runs(org, "diagnostic", [1, 2])
    assert measured_durations(["diagnostic"]) == {}


def test_the_jobs_page_says_a_queued_job_waits_for_a_worker(client, org, user):
    client.force_login(user)
    decision = Decision.objects.create(organization=org, created_by=user, title="T")
    job = lifecycle.job_create(job_type="brief_generation", input={}, organization=org, user=user,
                               decision_id=decision.id)

    html = client.get("/jobs/").content.decode()

    assert "Waiting for a worker to start it (1st in line)" in html
    assert 'data-queue-place="1"' in html and f'id="job-{job.id}"' in html
    assert ">Queued<" in html and ">pending<" not in html


def test_the_jobs_page_links_each_job_where_its_type_says(client, org, user):
    """The links come from the registry (JobType.link, set by each app), not from a
    decision URL the platform knows."""
    from reports import services as report_services

    client.force_login(user)
    decision = Decision.objects.create(organization=org, created_by=user, title="T")
    document = Document.objects.create(organization=org, title="Q3 review")
    brief = lifecycle.job_create(job_type="brief_generation", input={}, organization=org,
                                 user=user, decision_id=decision.id)
    report = report_services.analysis_job_create(document=document, block=None, type="ANALYZE",
                                                 prompt="Gaps?", user=user).job
    diagnostic = lifecycle.job_create(job_type="diagnostic", input={}, organization=org,
                                      user=user)

    html = client.get("/jobs/").content.decode()

    def row(job: Job) -> str:
        start = html.index(f'id="job-{job.id}"')
        return html[start:html.index("</tr>", start)]

    assert f'<a href="/decisions/{decision.id}">open decision</a>' in row(brief)
    assert f'<a href="/report-builder/{document.id}">open report</a>' in row(report)
    assert "<a href" not in row(diagnostic)


def test_error_pages_carry_the_shell(client, user):
    client.force_login(user)
    missing = client.get("/decisions/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    html = missing.content.decode()
    assert 'class="brand"' in html and "Page not found" in html and "Sign out" in html
    # The 500 page renders with no request context at all (Django's server_error).
    crashed = loader.get_template("500.html").render()
    assert 'class="brand"' in crashed and "Something went wrong" in crashed
    forbidden = loader.get_template("403.html").render()
    assert 'class="brand"' in forbidden


def test_the_favicon_address_leads_to_the_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("/web/favicon.svg")


def test_markdown_from_a_model_keeps_structure_and_loses_scripts():
    html = render_markdown("# Title\n\n- one\n- two\n\n<script>alert(1)</script>\n\n"
                           "[x](javascript:alert(1)) <b onclick='x()'>b</b>")
    assert "<h1>Title</h1>" in html and "<li>one</li>" in html
    assert "<script" not in html and "&lt;script&gt;" in html  # shown as text, never run
    assert "href=" not in html and "<b " not in html  # no javascript: link, no handler


def test_the_markdown_endpoint_renders_safely_for_members_only(api):
    text = "[offline] ## Plan\n\n1. Ask\n\n<script>x</script>"
    answer = api.post("/api/markdown", {"text": text}, format="json").json()
    assert answer["offline"] is True
    assert "<h2>Plan</h2>" in answer["html"] and "<li>Ask</li>" in answer["html"]
    assert "<script" not in answer["html"]
    assert Client().post("/api/markdown", {"text": "x"}).status_code in (401, 403)
