"""competitor_analysis through a real worker, against a fake company website, fake news
and review sources and the wire-level fake OpenAI."""

from __future__ import annotations

import socket
import uuid

import pytest

from competitors import services
from competitors.models import CompetitorProfile, Decision
from jobs import lifecycle
from jobs.errors import InvalidJobScope
from jobs.models import Job, JobEvent, JobStep, Organization
from tests.competitors.conftest import llm_prompt, llm_reply
from tests.conftest import drain
from tests.fakes.server import openai_error

pytestmark = pytest.mark.django_db(transaction=True)

PROFILE = {
    "summary": "Acme Corp sells self-serve analytics to small teams.",
    "positioning": "Analytics for everyone",
    "target_customers": "Teams of 5 to 50",
    "pricing": "From $59 per month",
    "products": ["Self-serve analytics", "Integrations"],
    "strengths": ["Fast setup", "Funding"],
    "weaknesses": ["Outages", "Pricing grows fast"],
    "threat_level": "high",
    "implications": "Price the self-serve tier below $59.",
}
SEED_PROGRESS = [
    (10, "Scraping website..."), (20, ""), (30, "Searching for news..."), (40, ""),
    (50, "Gathering reviews..."), (60, ""), (70, "Analyzing data..."), (90, ""),
]


def start(api, decision, **input) -> Job:
    body = {"type": "competitor_analysis", "input": {"company_name": "Acme Corp", **input}}
    if decision is not None:
        body["decision_id"] = str(decision.id)
    response = api.post("/api/jobs", body, format="json")
    assert response.status_code == 201, response.json()
    return Job.objects.get(id=response.json()["id"])


def progress_of(job) -> list[tuple[int, str]]:
    return list(JobEvent.objects.filter(job=job, kind="progress").order_by("id")
                .values_list("progress", "message"))


def test_the_analysis_walks_the_seeds_steps_and_saves_the_profile_with_the_job_id(
    api, decision, site, news_source, review_source, fake_openai, clean_queue
):
    fake_openai.reply = llm_reply({"competitive-intelligence": PROFILE})
    job = start(api, decision, company_url=f"{site.url}/")

    drain()

    job.refresh_from_db()
    profile = CompetitorProfile.objects.get(job_id=job.id)
    assert job.status == "completed" and job.progress == 100
    assert progress_of(job) == SEED_PROGRESS
    assert job.output["competitor_profile_id"] == str(profile.id)
    assert profile.decision_id == decision.id and profile.company_url == f"{site.url}/"
    assert (profile.summary, profile.threat_level, profile.weaknesses) == (
        PROFILE["summary"], "high", PROFILE["weaknesses"])
    assert (profile.provider, profile.offline) == ("openai", False)
    assert [n["title"] for n in profile.recent_news][0].startswith("Acme Corp raises $20M")
    assert [r["rating"] for r in profile.review_highlights] == [5.0, 2.0]
    prompt = llm_prompt(fake_openai.calls("/v1/chat/completions")[0])
    assert "Plans start at $59 per month" in prompt  # the scraped page reached the model
    assert "not page text" not in prompt  # scripts are not page text
    assert "Acme Corp outage angers customers" in prompt and "Gets expensive" in prompt
    assert decision.title in prompt
    assert len(site.pages("/")) == 1
    news_call = news_source.calls("/news")[0]
    assert "q=Acme+Corp+news" in news_call.path
    assert news_call.headers["authorization"] == "Bearer source-key"
    assert list(JobStep.objects.filter(job=job).values_list("name", flat=True)) == [
        "scrape-website", "search-news", "get-reviews", "generate-profile"]


def test_with_no_sources_and_no_llm_key_it_records_nothing_found_and_goes_on(
    api, decision, site, clean_queue
):
    job = start(api, decision, company_url=f"{site.url}/")

    drain()

    job.refresh_from_db()
    profile = CompetitorProfile.objects.get(job_id=job.id)
    assert job.status == "completed"
    assert "No news sources configured: nothing found" in job.output["notes"]
    assert "No reviews sources configured: nothing found" in job.output["notes"]
    assert profile.offline is True and profile.recent_news == []
    # The offline provider builds the profile from the scraped page.
    assert "Acme Corp makes self-serve product analytics" in profile.summary
    assert profile.pricing == "Plans start at $59 per month for 10 seats."
    assert profile.products == ["Self-serve analytics", "Pricing", "Integrations"]


def test_a_site_that_does_not_answer_is_retried_then_fails_with_a_clear_message(
    api, decision, site, clean_queue
):
    job = start(api, decision, company_url=f"{site.url}/slow")

    drain()

    job.refresh_from_db()
    assert job.status == "failed" and job.attempts == 4  # the first try and 3 retries
    assert job.error_kind == "retryable"
    assert job.error == (f"Failed after 3 retries: The company website {site.url}/slow "
                         "did not answer within 0.5 s")
    assert len(site.pages("/slow")) == 4


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(("path", "expected"), [
    ("/gone", "Company URL doesn't exist: {url}/gone answered HTTP 404"),
    ("/to-private", "http://10.1.2.3/admin is not allowed: it does not point at a public"),
    ("closed", "could not be reached (the site is down or does not exist): connection refused"),
])
def test_bad_urls_fail_at_once_without_retries(api, decision, site, clean_queue, path, expected):
    url = f"http://127.0.0.1:{_closed_port()}/" if path == "closed" else f"{site.url}{path}"
    job = start(api, decision, company_url=url)

    drain()

    job.refresh_from_db()
    assert (job.status, job.attempts, job.error_kind) == ("failed", 1, "invalid_input")
    assert expected.format(url=site.url) in job.error
    assert not CompetitorProfile.objects.exists()


@pytest.mark.parametrize(("input", "field"), [
    ({"company_name": "Acme", "company_url": "not a url"}, "company_url"),
    ({"company_name": "Acme", "company_url": "ftp://acme.example/"}, "company_url"),
    ({"company_name": "Acme", "company_url": "https://user:pw@acme.example/"}, "company_url"),
    ({"company_url": "https://acme.example/"}, "company_name"),
])
def test_invalid_input_is_refused_with_400_and_no_job(api, decision, input, field):
    body = {"type": "competitor_analysis", "decision_id": str(decision.id), "input": input}

    response = api.post("/api/jobs", body, format="json")

    assert response.status_code == 400
    assert field in response.json()["input"]
    assert not Job.objects.exists()


def test_without_a_decision_of_its_organization_the_job_is_refused_from_any_entrance(
    api, decision, site, clean_queue
):
    # The API refuses these at creation (tests/competitors/test_api.py); so does a job
    # made another way (a script, the shell): job_create checks the scope itself.
    stranger = Decision.objects.create(
        organization=Organization.objects.create(name="Other", slug="other"), title="Theirs")
    input = {"company_name": "Acme Corp", "company_url": f"{site.url}/"}

    with pytest.raises(InvalidJobScope) as missing:
        lifecycle.job_create(job_type="competitor_analysis", input=input,
                             organization=decision.organization)
    with pytest.raises(InvalidJobScope) as theirs:
        lifecycle.job_create(job_type="competitor_analysis", input=input,
                             organization=decision.organization, decision_id=stranger.id)

    assert missing.value.errors == {"decision_id": ["competitor_analysis needs a decision_id."]}
    assert theirs.value.errors == {
        "decision_id": [f"Decision {stranger.id} not found in this organization."]}
    assert not Job.objects.exists() and site.requests == []


def test_a_decision_deleted_before_its_job_runs_fails_the_job_at_once(
    api, decision, site, clean_queue
):
    gone = Decision.objects.create(organization=decision.organization, title="Soon gone")
    job = lifecycle.job_create(
        job_type="competitor_analysis", organization=decision.organization, decision_id=gone.id,
        input={"company_name": "Acme Corp", "company_url": f"{site.url}/"})
    gone_id = gone.id
    gone.delete()

    drain()

    job.refresh_from_db()
    assert (job.status, job.attempts, job.error_kind) == ("failed", 1, "invalid_input")
    assert job.error == f"Decision {gone_id} not found in this organization"
    assert site.requests == []  # nothing was scraped for it


def test_a_retry_resumes_after_the_last_finished_step(
    api, decision, site, news_source, review_source, fake_openai, clean_queue
):
    fake_openai.reply = llm_reply({"competitive-intelligence": PROFILE})
    fake_openai.enqueue(openai_error(500, "overloaded"))
    job = start(api, decision, company_url=f"{site.url}/")

    drain()

    job.refresh_from_db()
    steps = dict(JobStep.objects.filter(job=job).values_list("name", "attempt"))
    assert job.status == "completed" and job.attempts == 2
    assert steps == {"scrape-website": 1, "search-news": 1, "get-reviews": 1,
                     "generate-profile": 2}
    assert len(site.pages("/")) == 1  # not scraped again
    assert len(news_source.calls("/news")) == 1 and len(review_source.calls("/reviews")) == 1
    assert len(fake_openai.calls("/v1/chat/completions")) == 2
    assert JobEvent.objects.filter(job=job, kind="retry_scheduled").count() == 1
    assert CompetitorProfile.objects.filter(job_id=job.id).count() == 1


def test_invalid_json_from_the_model_is_retried_once_then_fails(
    api, decision, site, fake_openai, clean_queue
):
    fake_openai.reply = "this is not JSON"
    job = start(api, decision, company_url=f"{site.url}/")

    drain()

    job.refresh_from_db()
    assert (job.status, job.attempts, job.error_kind) == ("failed", 2, "parse")
    assert len(site.pages("/")) == 1


def test_a_site_that_refuses_to_be_read_does_not_stop_the_analysis(
    api, decision, site, clean_queue
):
    job = start(api, decision, company_url=f"{site.url}/forbidden")

    drain()

    profile = CompetitorProfile.objects.get(job_id=job.id)
    assert profile.website["error"] == "The website refused to be read (HTTP 403)"
    assert profile.website["ok"] is False


def test_two_active_jobs_per_decision_then_429(api, decision, clean_queue):
    bodies = [{"type": "competitor_analysis", "decision_id": str(decision.id),
               "input": {"company_name": f"C{i}", "company_url": f"https://c{i}.example/"}}
              for i in range(3)]

    codes = [api.post("/api/jobs", body, format="json") for body in bodies]

    assert [r.status_code for r in codes] == [201, 201, 429]
    assert codes[2].json()["scope"] == "decision"
    assert codes[2].headers["Retry-After"]


def test_saving_a_profile_twice_for_one_job_leaves_one_row(decision):
    job_id, profile_id = uuid.uuid4(), uuid.uuid4()
    common = dict(profile_id=profile_id, decision_id=decision.id, job_id=job_id,
                  company_name="Acme", company_url="https://acme.example/", website={},
                  news=[], reviews=[], provider="offline", model="m", offline=True)

    services.competitor_profile_save(profile={**PROFILE, "summary": "first"}, **common)
    services.competitor_profile_save(profile={**PROFILE, "summary": "second"}, **common)

    assert list(CompetitorProfile.objects.values_list("id", "summary")) == [(profile_id, "second")]
