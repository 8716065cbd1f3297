"""market_research, brief_generation, option_analysis and evidence_search through a real
worker; the per-type poll intervals and maximum durations of the seed's tables."""

from __future__ import annotations

import time

import pytest

from competitors.models import CompetitorProfile, EvidenceItem, MarketResearch, Option, Output
from jobs.models import Job, JobEvent
from tests.competitors.conftest import llm_prompt, llm_reply, search_answer
from tests.conftest import drain
from tests.fakes.server import FakeServer

pytestmark = pytest.mark.django_db(transaction=True)


def start(api, decision, job_type: str, **input) -> Job:
    response = api.post("/api/jobs", {"type": job_type, "decision_id": str(decision.id),
                                      "input": input}, format="json")
    assert response.status_code == 201, response.json()
    return Job.objects.get(id=response.json()["id"])


def messages(job) -> list[tuple[int, str]]:
    return list(JobEvent.objects.filter(job=job, kind="progress").order_by("id")
                .values_list("progress", "message"))


@pytest.fixture
def search_source(settings):
    fake = FakeServer()
    fake.route("GET", "/search", search_answer([
        {"title": "Self-serve analytics demand grows 40% among small teams",
         "url": "https://research.example/demand",
         "snippet": "Small teams adopt self-serve tools."},
        {"title": "Analytics buyers complain pricing is confusing",
         "url": "https://research.example/pricing", "snippet": "Pricing pages confuse buyers."},
    ]))
    fake.start()
    settings.COMPETITORS_SEARCH_SOURCES = [f"{fake.url}/search"]
    yield fake
    fake.stop()


@pytest.fixture
def profile(decision) -> CompetitorProfile:
    from django.utils import timezone

    return CompetitorProfile.objects.create(
        decision=decision, company_name="Acme Corp", company_url="https://acme.example/",
        summary="Acme sells self-serve analytics with fast onboarding.",
        strengths=["Fast onboarding for small teams"], weaknesses=["Pricing confusing at scale"],
        generated_at=timezone.now(),
    )


# --- market_research -------------------------------------------------------------------


def test_market_research_with_no_sources_draws_evidence_from_the_decision(
    api, decision, clean_queue
):
    job = start(api, decision, "market_research")

    drain()

    job.refresh_from_db()
    research = MarketResearch.objects.get(job_id=job.id)
    items = list(research.evidence_items.order_by("position"))
    assert job.status == "completed"
    assert messages(job) == [(10, "Searching market sources..."),
                             (40, "Researching the market..."), (90, "Saving evidence...")]
    assert research.decision_id == decision.id and research.query == decision.title
    assert [i.title for i in items] == ["Small teams want self-serve analytics.",
                                        "Demand is growing fast.", "Pricing confuses buyers."]
    assert items[1].stance == "supports"
    assert all(i.origin == "market_research" and i.job_id == job.id for i in items)
    assert job.output["evidence_count"] == 3
    assert job.output["market_research_id"] == str(research.id)
    assert "No search sources configured: nothing found" in job.output["notes"]


def test_market_research_sends_the_findings_to_the_model_and_keeps_max_items(
    api, decision, search_source, fake_openai, clean_queue
):
    evidence = [{"title": f"Finding {n}", "summary": "s", "stance": "supports",
                 "relevance": 0.9, "source_title": "Research", "source_url": "https://r.example/"}
                for n in range(3)]
    fake_openai.reply = llm_reply({"market analyst": {
        "summary": "Growing market", "market_size": "$2B", "trends": ["Self-serve"],
        "evidence": evidence}})
    job = start(api, decision, "market_research", query="self-serve analytics", max_items=2)

    drain()

    research = MarketResearch.objects.get(job_id=job.id)
    prompt = llm_prompt(fake_openai.calls("/v1/chat/completions")[0])
    assert "Self-serve analytics demand grows 40% among small teams" in prompt
    assert "q=self-serve+analytics+market" in search_source.calls("/search")[0].path
    assert (research.market_size, research.trends, research.offline) == ("$2B", ["Self-serve"],
                                                                          False)
    assert list(research.evidence_items.values_list("title", flat=True)) == [
        "Finding 0", "Finding 1"]


# --- brief_generation ----------------------------------------------------------------------


def test_brief_generation_writes_an_output_with_content_from_everything_gathered(
    api, decision, profile, clean_queue
):
    job = start(api, decision, "brief_generation", audience="the leadership team")

    drain()

    job.refresh_from_db()
    output = Output.objects.get(job_id=job.id)
    assert messages(job) == [(10, "Gathering decision data..."),
                             (40, "Synthesizing decision data..."), (90, "Saving brief...")]
    assert output.decision_id == decision.id and output.kind == "brief"
    assert output.content.startswith(f"# Brief: {decision.title}")
    assert "- Self-serve tier: not analysed yet" in output.content
    assert "- Acme Corp (threat medium): Acme sells self-serve analytics" in output.content
    assert job.output["output_id"] == str(output.id)
    assert job.output["content"] == output.content


def test_brief_generation_through_the_wire_level_anthropic_fake(
    api, decision, fake_anthropic, clean_queue
):
    brief = {"title": "Go self-serve", "summary": "Demand is there.",
             "sections": [{"heading": "Why now", "body": "Small teams ask for it."}],
             "recommendation": "Launch at $39."}
    fake_anthropic.reply = lambda rec: __import__("json").dumps(brief)
    job = start(api, decision, "brief_generation", focus="pricing")

    drain()

    output = Output.objects.get(job_id=job.id)
    request = fake_anthropic.calls("/v1/messages")[0].json()
    assert "focused on pricing" in request["messages"][0]["content"]
    assert output.content == ("# Go self-serve\n\nDemand is there.\n\n## Why now\n\n"
                              "Small teams ask for it.\n\n## Recommendation\n\nLaunch at $39.\n")
    assert (output.provider, output.offline) == ("anthropic", False)


# --- option_analysis -------------------------------------------------------------------------


def test_option_analysis_saves_the_analysis_on_the_option(api, decision, clean_queue):
    option = decision.options.get(title="Self-serve tier")
    job = start(api, decision, "option_analysis", option_id=str(option.id))

    drain()

    job.refresh_from_db()
    option.refresh_from_db()
    assert messages(job) == [(10, "Loading option..."), (30, "Analyzing option..."),
                             (90, "Saving analysis...")]
    assert option.analysis_job_id == job.id and option.analyzed_at is not None
    assert 0 <= option.ai_analysis["score"] <= 10
    assert option.ai_analysis["recommendation"] in {"pursue", "consider", "avoid"}
    assert option.ai_analysis["offline"] is True
    assert job.output["analysis"] == option.ai_analysis


def test_option_analysis_through_the_wire_level_openai_fake(
    api, decision, profile, fake_openai, clean_queue
):
    fake_openai.reply = llm_reply({"assess one option": {
        "summary": "Self-serve wins small teams.", "pros": ["Fast setup"],
        "cons": ["Support load"], "risks": ["Acme copies it"], "score": 8,
        "recommendation": "pursue"}})
    option = decision.options.get(title="Self-serve tier")
    job = start(api, decision, "option_analysis", option_id=str(option.id))

    drain()

    job.refresh_from_db()
    option.refresh_from_db()
    calls = fake_openai.calls("/v1/chat/completions")
    prompt = llm_prompt(calls[0])
    assert len(calls) == 1
    assert "Analyse the option 'Self-serve tier'" in prompt
    assert "Stay sales-led" in prompt and "Acme Corp" in prompt
    assert job.status == "completed" and option.analysis_job_id == job.id
    assert {k: option.ai_analysis[k] for k in
            ("summary", "pros", "cons", "risks", "score", "recommendation", "provider",
             "offline")} == {
        "summary": "Self-serve wins small teams.", "pros": ["Fast setup"],
        "cons": ["Support load"], "risks": ["Acme copies it"], "score": 8,
        "recommendation": "pursue", "provider": "openai", "offline": False}
    assert job.output["analysis"] == option.ai_analysis and job.output["offline"] is False


def test_option_analysis_of_another_decisions_option_is_refused_at_create(
    api, decision, org, clean_queue
):
    """Seed 001: the option must be one of the job's decision's. It was accepted (201)
    and failed in the worker; now it is a 400 on the input's option_id and nothing is
    queued."""
    from procrastinate.contrib.django.models import ProcrastinateJob

    from competitors.models import Decision

    other = Decision.objects.create(organization=org, title="Other")
    foreign = Option.objects.create(decision=other, title="Foreign")
    own = Option.objects.create(decision=decision, title="Own")

    response = api.post("/api/jobs", {"type": "option_analysis", "decision_id": str(decision.id),
                                      "input": {"option_id": str(foreign.id)}}, format="json")

    assert response.status_code == 400
    assert response.json() == {"input": {"option_id": [
        f"Option {foreign.id} is not an option of this decision."]}}
    assert not Job.objects.exists() and not ProcrastinateJob.objects.exists()
    # Its own decision's option is accepted.
    assert start(api, decision, "option_analysis", option_id=str(own.id)).status == "pending"


def test_an_option_deleted_after_create_fails_the_job_at_once(api, decision, clean_queue):
    option = Option.objects.create(decision=decision, title="Soon gone")
    option_id = option.id
    job = start(api, decision, "option_analysis", option_id=str(option_id))
    option.delete()

    drain()

    job.refresh_from_db()
    assert (job.status, job.attempts, job.error_kind) == ("failed", 1, "invalid_input")
    assert job.error == f"Option {option_id} is not an option of this decision"


def test_a_job_past_its_maximum_duration_is_stopped_and_fails_clearly(
    api, decision, fake_openai, settings, clean_queue
):
    settings.COMPETITORS_JOB_TYPES = {
        **settings.COMPETITORS_JOB_TYPES,
        "option_analysis": {**settings.COMPETITORS_JOB_TYPES["option_analysis"],
                            "max_duration_seconds": 1},
    }

    def slow(rec):
        time.sleep(1.5)
        return '{"summary": "s", "pros": [], "cons": [], "score": 5, "recommendation": "consider"}'

    fake_openai.reply = slow
    option = decision.options.first()
    job = start(api, decision, "option_analysis", option_id=str(option.id))

    drain()

    job.refresh_from_db()
    option.refresh_from_db()
    assert (job.status, job.error_kind) == ("failed", "expired")
    assert job.error == "Expired: ran longer than the 1 s allowed for option_analysis"
    assert option.ai_analysis is None


# --- evidence_search -------------------------------------------------------------------------


def test_evidence_search_judges_sources_and_the_decisions_material(
    api, decision, profile, search_source, clean_queue
):
    job = start(api, decision, "evidence_search", query="pricing confusing buyers", max_results=3)

    drain()

    job.refresh_from_db()
    items = list(EvidenceItem.objects.filter(job_id=job.id).order_by("position"))
    assert messages(job) == [(10, "Searching for evidence..."),
                             (30, "Searching the decision's material..."),
                             (50, "Assessing relevance..."), (90, "Saving evidence...")]
    assert 1 <= len(items) <= 3 and job.output["evidence_count"] == len(items)
    assert items[0].title == "Analytics buyers complain pricing is confusing"
    assert items[0].source_url == "https://research.example/pricing"
    assert items[0].stance == "opposes"
    assert any(i.source_title == "Competitor profile: Acme Corp" for i in items)
    assert all(i.origin == "evidence_search" and i.decision_id == decision.id for i in items)
    relevances = [i.relevance for i in items]
    assert relevances == sorted(relevances, reverse=True)


def test_evidence_search_through_the_wire_level_openai_fake(
    api, decision, search_source, fake_openai, clean_queue
):
    fake_openai.reply = llm_reply({"judge evidence": {"items": [
        {"candidate": 1, "summary": "Buyers find the pricing page confusing.",
         "stance": "supports", "relevance": 0.8},
        {"candidate": 99, "summary": "Points nowhere.", "stance": "neutral", "relevance": 0.9},
    ]}})
    job = start(api, decision, "evidence_search", query="pricing confusing buyers", max_results=3)

    drain()

    job.refresh_from_db()
    calls = fake_openai.calls("/v1/chat/completions")
    prompt = llm_prompt(calls[0])
    items = list(EvidenceItem.objects.filter(job_id=job.id).order_by("position"))
    assert len(calls) == 1
    assert "Question: pricing confusing buyers" in prompt
    assert "Analytics buyers complain pricing is confusing" in prompt
    assert job.status == "completed" and job.output["offline"] is False
    assert [(i.title, i.summary, i.stance, i.relevance, i.source_url, i.offline)
            for i in items] == [
        ("Analytics buyers complain pricing is confusing",
         "Buyers find the pricing page confusing.", "supports", 0.8,
         "https://research.example/pricing", False)]
    assert job.output["evidence_count"] == 1


def test_evidence_search_that_finds_nothing_completes_empty_without_asking_the_model(
    api, decision, fake_openai, clean_queue
):
    job = start(api, decision, "evidence_search", query="quantum blockchain")

    drain()

    job.refresh_from_db()
    assert job.status == "completed" and job.output["evidence_count"] == 0
    assert "Nothing found for this query" in job.output["notes"]
    assert fake_openai.calls() == []


def test_evidence_search_needs_a_query(api, decision):
    response = api.post("/api/jobs", {"type": "evidence_search", "decision_id": str(decision.id),
                                      "input": {"query": "ab"}}, format="json")

    assert response.status_code == 400 and "query" in response.json()["input"]


# --- per-type settings -------------------------------------------------------------------------


def test_each_type_has_the_seeds_poll_interval_and_maximum_duration(api, decision):
    types = {t["name"]: t for t in api.get("/api/jobs/types").json()}
    job = start(api, decision, "brief_generation")

    expected = {
        "competitor_analysis": (3000, 120, "30-90 seconds"),
        "market_research": (3000, 120, "20-60 seconds"),
        "brief_generation": (2000, 60, "15-30 seconds"),
        "option_analysis": (2000, 30, "10-20 seconds"),
        "evidence_search": (2000, 60, "10-30 seconds"),
    }
    assert {name: (types[name]["poll_interval_ms"], types[name]["max_duration_seconds"],
                   types[name]["typical_duration"]) for name in expected} == expected
    assert api.get(f"/api/jobs/{job.id}").json()["poll_interval_ms"] == 2000
