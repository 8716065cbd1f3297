"""The product's pages in a real browser (Debian's Chromium through Playwright) against
the real ASGI server, as a member and as staff, with data on every page. The member's
page (`page`), the server and the browser are tests/conftest.py's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from competitors.models import CompetitorProfile, Decision, EvidenceItem, Option, Output
from jobs import lifecycle
from jobs.models import Job
from reports.models import Block, ContextItem, Document
from tests.browser import logged_in_page

SCREENSHOTS = Path(__file__).resolve().parents[1] / "output" / "screenshots"


@pytest.fixture
def staff(make_user: Any, org: Any) -> Any:
    return make_user(org, username="staffer", is_staff=True, is_superuser=True)


@pytest.fixture
def staff_page(browser: Any, asgi_server: Any, staff: Any) -> Iterator[Any]:
    yield from logged_in_page(browser, asgi_server.url, staff)


@pytest.fixture
def screenshots() -> Path:
    """Where the page tests leave their screenshots for a reviewer (git-ignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


LONG_TEXT = ("A very long competitor name that goes on and on without a single break "
             "AcmeCorpAnalyticsPlatformForEveryoneEverywhereAllAtOnce")


@pytest.fixture
def world(org: Any, user: Any) -> dict[str, Any]:
    """A decision with every section filled, a report, and jobs in every status."""
    decision = Decision.objects.create(
        organization=org, created_by=user, title="Launch a self-serve analytics tier?",
        context="Small teams want self-serve analytics. Demand is growing fast.")
    option = Option.objects.create(
        decision=decision, title="Self-serve tier", position=1, description="Easy setup.",
        ai_analysis={"summary": "**Strong** demand from small teams.", "pros": ["Fast"],
                     "cons": ["Support load"], "score": 7, "recommendation": "pursue"})
    Option.objects.create(decision=decision, title="Stay sales-led", position=2)
    Decision.objects.create(organization=org, created_by=user, title=LONG_TEXT)
    now = timezone.now()
    profile = CompetitorProfile.objects.create(
        decision=decision, company_name="Acme Corp", company_url="https://acme.example/" + "x" * 80,
        summary="[offline] Acme makes *self-serve* analytics.", threat_level="high",
        strengths=["Cheap"], weaknesses=["Slow support"], offline=True, generated_at=now,
        positioning="Analytics for everyone", pricing="$59 per month")
    EvidenceItem.objects.create(decision=decision, title="Teams pay for insight", stance="supports",
                                summary="Surveys show it.", relevance=0.8,
                                origin="evidence_search")
    Output.objects.create(decision=decision, kind="brief", title="Brief",
                          content="# Brief: the tier\n\n## Options\n\n"
                                  "- Self-serve tier\n- Stay sales-led\n",
                          generated_at=now, offline=True)
    document = Document.objects.create(organization=org, title="Q3 review")
    ContextItem.objects.create(document=document, kind="evidence", text="Pricing confuses users.")
    Block.objects.create(document=document, position=1, prompt="Summarise the problems.",
                         content="Pricing confuses users. " * 12)
    Block.objects.create(document=document, position=2, kind="HEADING", content="Next steps")
    jobs = {}
    for status in ("completed", "failed", "cancelled"):
        job = lifecycle.job_create(job_type="diagnostic", input={"steps": 1}, organization=org,
                                   user=user)
        Job.objects.filter(id=job.id).update(
            status=status, progress=100 if status == "completed" else 40,
            error=("Failed after 3 retries: " + "the provider timed out " * 20)
            if status == "failed" else "",
            started_at=now - dt.timedelta(seconds=5), completed_at=now)
        jobs[status] = job
    jobs["pending"] = lifecycle.job_create(job_type="brief_generation", input={},
                                           organization=org, user=user, decision_id=decision.id)
    return {"decision": decision, "option": option, "profile": profile, "document": document,
            "jobs": jobs}
