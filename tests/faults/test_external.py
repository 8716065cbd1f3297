"""External faults: an LLM that answers 429, 500, hangs or breaks its JSON; Slack and Jira down.

Real domain jobs run by a real Procrastinate worker (a background thread with
its own event loop) against the wire-level fakes in tests/fakes:

- `themes.scan` asks the LLM for themes as JSON (a durable step): the LLM faults.
- `roadmap.regenerate` posts a Slack alert for new critical items and opens a
  Jira epic per critical or high item: the Slack and Jira outages.

Each job must retry or fail as the error table (jobs.registry.ERROR_POLICIES)
says (retryable faults with back-off, 429 after its Retry-After, broken JSON once, 401 never), and
nothing may reach Slack or Jira twice: the fakes count what they delivered.
Retries are fast here (a 0.2 s back-off base). The scenarios that take more than
about two seconds (both providers' 429 and 500s, outages through every retry)
carry the `faults` marker; the others run in `make test` too.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest

from jobs import lifecycle
from jobs.ai.models import GenerationLog
from jobs.integrations.models import SentEffect
from jobs.models import Job
from roadmap.models import Project, RoadmapSuggestion
from roadmap.services import roadmap_regenerate_start
from tests.conftest import job_status, wait_for
from tests.fakes.server import FakeServer, Recorded
from tests.faults.conftest import record
from tests.roadmap.builders import recent_interviews
from tests.themes.builders import interview, theme
from themes.models import Theme
from themes.services import theme_scan_start

pytestmark = pytest.mark.django_db(transaction=True)

BASE = 0.2  # back-off base: retries wait 0.2, 0.4, 0.8 s
MAX_RETRIES = 3
DONE = ("completed", "failed", "cancelled")
LLM_PATHS = {"fake_openai": "/v1/chat/completions", "fake_anthropic": "/v1/messages"}
LLM_NAMES = {"fake_openai": "OpenAI", "fake_anthropic": "Anthropic"}


@pytest.fixture(autouse=True)
def _fast_retries(settings: Any) -> None:
    settings.JOBS = {**settings.JOBS, "RETRY_BASE_SECONDS": BASE,
                     "DEFAULT_MAX_RETRIES": MAX_RETRIES}
    settings.LLM_RATE_LIMITS = {}
    settings.SLACK_DEFAULT_CHANNEL = ""
    settings.JIRA_PROJECT_KEY = ""


def finish(job: Job, worker: Any, timeout: float = 20.0) -> Job:
    wait_for(lambda: job_status(job.id) in DONE, timeout=timeout)
    job.refresh_from_db()
    assert worker.error is None, worker.error
    return job


def retry_events(job: Job) -> list[Any]:
    return list(job.events.filter(kind="retry_scheduled").order_by("created_at"))


def gaps(times: list[float]) -> list[float]:
    return [round(b - a, 3) for a, b in zip(times, times[1:], strict=False)]


# --- the LLM: themes.scan --------------------------------------------------------------


@pytest.fixture
def llm(request: Any) -> Any:
    """The fake LLM named by the test's parameter (OpenAI unless parametrized)."""
    name = getattr(request, "param", "fake_openai")
    fake = request.getfixturevalue(name)
    fake.path, fake.label = LLM_PATHS[name], LLM_NAMES[name]
    return fake


def scan_setup(org: Any, llm: Any) -> dict[str, Any]:
    """Two interviews about search; the LLM's good answer names one theme over both."""
    a, b = interview(org, "Search is slow."), interview(org, "Search misses notes.")
    good = json.dumps({"themes": [{
        "name": "Search", "description": "Search is slow and incomplete.",
        "confidence_score": 0.8,
        "evidence": [{"interview_id": str(i.id), "quote_id": i.quotes.get().id}
                     for i in (a, b)]}]})
    llm.reply = good
    return {"good": good}


def scan(org: Any) -> Job:
    return theme_scan_start(organization=org, source="internal")


def assert_scan_applied_once(org: Any) -> None:
    theme_row = Theme.objects.get(organization=org)
    assert (theme_row.slug, theme_row.occurrences, theme_row.evidence.count()) == ("search", 2, 2)


@pytest.mark.faults
@pytest.mark.parametrize("llm", ["fake_openai", "fake_anthropic"], indirect=True)
def test_llm_429_with_retry_after_is_honoured_then_the_job_completes(
        org, llm, background_worker):
    scan_setup(org, llm)
    llm.fail_next(429, retry_after=1.5, message="Rate limit reached")
    job = scan(org)

    job = finish(job, background_worker())

    calls = llm.calls(llm.path)
    waited = calls[1].at - calls[0].at if len(calls) == 2 else 0.0
    retries = retry_events(job)
    record(f"{llm.label} 429 with Retry-After 1.5 s, then success (themes.scan)", did=1,
           lost=int(job.status != "completed"), duplicated=max(0, len(calls) - 2),
           note=f"{job.attempts} attempts, {len(calls)} requests; the retry came "
                f"{waited:.2f} s later (back-off alone: {BASE} s)")
    assert (job.status, job.attempts) == ("completed", 2), job.error
    assert len(calls) == 2
    assert [e.data["error_kind"] for e in retries] == ["rate_limited"]
    # Retry-After (1.5 s), not the 0.2 s back-off, decided when the retry ran.
    scheduled = dt.datetime.fromisoformat(retries[0].data["retry_at"]) - retries[0].created_at
    assert 1.2 <= scheduled.total_seconds() <= 1.8, scheduled
    assert waited >= 1.45, waited
    logs = list(GenerationLog.objects.filter(job=job).order_by("id"))
    assert [(log.success, log.error_kind) for log in logs] == [(False, "rate_limited"),
                                                               (True, "")]
    assert_scan_applied_once(org)


@pytest.mark.faults
@pytest.mark.parametrize("llm", ["fake_openai", "fake_anthropic"], indirect=True)
def test_llm_500s_are_retried_with_back_off_then_fail_with_a_clear_error(
        org, llm, background_worker):
    scan_setup(org, llm)
    llm.fail_next(500, times=MAX_RETRIES + 5, message="The server had an error")
    job = scan(org)

    job = finish(job, background_worker())
    time.sleep(3 * BASE)  # a fifth attempt, if one were queued, would have come by now

    times = llm.times(llm.path)
    record(f"{llm.label} 500 on every attempt (themes.scan)", did=len(times),
           lost=int(job.status != "failed"), duplicated=max(0, len(times) - 1 - MAX_RETRIES),
           note=f"{job.attempts} attempts, request gaps {gaps(times)} s "
                f"(back-off {BASE}, {2 * BASE}, {4 * BASE} s); error: {job.error[:60]}")
    assert (job.status, job.attempts, job.error_kind) == ("failed", 1 + MAX_RETRIES, "retryable")
    assert len(times) == 1 + MAX_RETRIES
    assert job.error.startswith(f"Failed after {MAX_RETRIES} retries: {llm.label} error 500")
    # Exponential back-off between attempts (the worker polls every 0.1 s).
    for n, gap in enumerate(gaps(times)):
        assert BASE * 2**n - 0.05 <= gap <= BASE * 2**n + 1.0, gaps(times)
    assert [e.data["error_kind"] for e in retry_events(job)] == ["retryable"] * MAX_RETRIES
    assert not job.steps.exists() and not Theme.objects.exists()


def test_llm_hanging_past_the_client_timeout_is_a_retryable_timeout(
        org, llm, background_worker, settings):
    settings.LLM_TIMEOUT_SECONDS = 0.5
    scan_setup(org, llm)
    llm.hang_next(3.0)
    job = scan(org)

    job = finish(job, background_worker())

    calls = llm.calls(llm.path)
    logs = list(GenerationLog.objects.filter(job=job).order_by("id"))
    record("LLM hangs past the 0.5 s client timeout, then answers (themes.scan)", did=1,
           lost=int(job.status != "completed"), duplicated=max(0, len(calls) - 2),
           note=f"{job.attempts} attempts; the hung call was given up after "
                f"{logs[0].duration_ms if logs else '?'} ms")
    assert (job.status, job.attempts) == ("completed", 2), job.error
    assert len(calls) == 2
    assert [e.data["error_kind"] for e in retry_events(job)] == ["retryable"]
    assert "timed out" in logs[0].error and not logs[0].success and logs[1].success
    assert 400 <= logs[0].duration_ms < 2500  # the client gave up; it did not wait 3 s
    assert_scan_applied_once(org)


def test_llm_broken_json_is_retried_once_then_fails_with_the_parse_error(
        org, llm, background_worker):
    scan_setup(org, llm)
    llm.reply = 'Here are the themes: {"themes": [{"name": "Search",'  # cut off mid-object
    job = scan(org)

    job = finish(job, background_worker())
    time.sleep(3 * BASE)

    calls = llm.calls(llm.path)
    record("LLM answers broken JSON every time (themes.scan)", did=len(calls),
           lost=int(job.status != "failed"), duplicated=max(0, len(calls) - 2),
           note=f"{job.attempts} attempts of {1 + MAX_RETRIES} allowed; {job.error[:70]}")
    assert (job.status, job.attempts, job.error_kind) == ("failed", 2, "parse")
    assert len(calls) == 2  # once, not the job type's three retries
    assert job.error.startswith("Failed after 1 retries: The model did not return valid JSON")
    assert not Theme.objects.exists()


def test_llm_json_off_the_schema_once_then_valid_completes(org, llm, background_worker):
    good = scan_setup(org, llm)["good"]
    answers = iter(['{"topics": ["search"]}'])
    llm.reply = lambda rec: next(answers, good)
    job = scan(org)

    job = finish(job, background_worker())

    calls = llm.calls(llm.path)
    record("LLM answers JSON off the schema once, then valid JSON (themes.scan)", did=1,
           lost=int(job.status != "completed"), duplicated=max(0, len(calls) - 2),
           note=f"{job.attempts} attempts, {len(calls)} requests")
    assert (job.status, job.attempts) == ("completed", 2), job.error
    assert [e.data["error_kind"] for e in retry_events(job)] == ["parse"]
    assert len(calls) == 2
    assert_scan_applied_once(org)


@pytest.mark.parametrize("llm", ["fake_openai", "fake_anthropic"], indirect=True)
def test_llm_401_fails_at_once_without_a_retry(org, llm, background_worker):
    scan_setup(org, llm)
    llm.fail_next(401, message="Incorrect API key provided")
    job = scan(org)

    job = finish(job, background_worker())
    time.sleep(3 * BASE)

    calls = llm.calls(llm.path)
    record(f"{llm.label} 401 (themes.scan)", did=1, lost=int(job.status != "failed"),
           duplicated=max(0, len(calls) - 1), note=f"{job.attempts} attempt; {job.error[:70]}")
    assert (job.status, job.attempts, job.error_kind) == ("failed", 1, "auth")
    assert len(calls) == 1 and not retry_events(job)
    assert job.error.startswith(f"{llm.label} refused the API key (401)")
    assert "retries" not in job.error


# --- Slack and Jira: roadmap.regenerate ---------------------------------------------------


@pytest.fixture
def project(org: Any, settings: Any) -> Project:
    """Pricing becomes critical (a Slack alert and an epic), Exports and Billing high (an epic
    each)."""
    settings.LLM_PROVIDER = "offline"
    recent_interviews(org, 10)
    theme(org, "Pricing", 8, 0.9)
    theme(org, "Exports", 4, 0.8)
    theme(org, "Billing", 3, 0.9)
    return Project.objects.create(organization=org, name="Core", slack_channel="#roadmap",
                                  jira_project_key="CORE")


def regenerate(project: Project) -> Job:
    return roadmap_regenerate_start(project=project, generate_reasoning=False,
                                    source="internal")


def slack_delivered(fake: FakeServer) -> list[Recorded]:
    """Posts Slack accepted (HTTP 200 and ok: true): messages people saw."""
    return [r for r in fake.calls("/api/chat.postMessage")
            if r.answer is not None and r.answer.status == 200 and (r.answer.body or {}).get("ok")]


def jira_created(fake: FakeServer) -> list[Recorded]:
    """Creates Jira accepted (HTTP 201): issues that exist."""
    return [r for r in fake.calls("/rest/api/2/issue")
            if r.method == "POST" and r.answer is not None and r.answer.status == 201]


def summaries(created: list[Recorded]) -> list[str]:
    return sorted(r.json()["fields"]["summary"] for r in created)


def epic_keys(project: Project) -> dict[str, str]:
    return dict(RoadmapSuggestion.objects.filter(project=project).exclude(jira_issue_key="")
                .values_list("theme__name", "jira_issue_key"))


def test_slack_5xx_twice_then_back_posts_the_alert_once(
        project, fake_slack, fake_jira, background_worker):
    # The posts fail (a lookup of the in-doubt post before each retry answers).
    fake_slack.fail_next(503, times=2, path="/api/chat.postMessage")
    job = regenerate(project)

    job = finish(job, background_worker())

    posts = fake_slack.calls("/api/chat.postMessage")
    delivered, created = slack_delivered(fake_slack), jira_created(fake_jira)
    record("Slack 503 twice while a job notifies (roadmap.regenerate)", did=len(posts),
           lost=int(len(delivered) < 1) + int(job.status != "completed"),
           duplicated=max(0, len(delivered) - 1) + max(0, len(created) - 3),
           note=f"{job.attempts} attempts; {len(posts)} posts tried, {len(delivered)} "
                f"delivered; {len(created)} epics for 3 items")
    assert (job.status, job.attempts) == ("completed", 3), job.error
    assert len(posts) == 3 and len(delivered) == 1
    assert delivered[0].json()["text"] == "\U0001f6a8 1 new critical roadmap items detected!"
    assert [e.data["error_kind"] for e in retry_events(job)] == ["retryable"] * 2
    assert "Slack error 503" in retry_events(job)[0].message
    assert summaries(created) == ["Billing", "Exports", "Pricing"]
    assert SentEffect.objects.filter(kind="slack").count() == 1
    assert job.output["slack"] == delivered[0].answer.body["ts"]
    assert job.output["jira_epics"] == epic_keys(project)


def test_slack_429_waits_for_its_retry_after_and_posts_once(
        project, fake_slack, fake_jira, background_worker):
    fake_slack.fail_next(429, retry_after=1)
    job = regenerate(project)

    job = finish(job, background_worker())

    posts = fake_slack.calls("/api/chat.postMessage")
    waited = posts[1].at - posts[0].at if len(posts) > 1 else 0.0
    delivered = slack_delivered(fake_slack)
    record("Slack 429 with Retry-After 1 s (roadmap.regenerate)", did=len(posts),
           lost=int(job.status != "completed"), duplicated=max(0, len(delivered) - 1),
           note=f"{job.attempts} attempts; the retry posted {waited:.2f} s later")
    assert (job.status, job.attempts) == ("completed", 2), job.error
    assert [e.data["error_kind"] for e in retry_events(job)] == ["rate_limited"]
    assert waited >= 0.95 and len(delivered) == 1


@pytest.mark.faults
def test_slack_refusing_connections_fails_the_job_then_a_retry_posts_once(
        project, fake_slack, fake_jira, background_worker):
    fake_slack.go_down()
    job = regenerate(project)
    worker = background_worker()

    job = finish(job, worker)
    failed_after = (job.status, job.attempts, job.error_kind, job.error)
    assert not fake_slack.calls() and not fake_jira.calls()
    # Slack is back; staff retry the failed job (the admin's action).
    fake_slack.come_back()
    lifecycle.job_retry(job.id, actor="staff", enforce_limits=False)
    job = finish(job, worker)

    delivered, created = slack_delivered(fake_slack), jira_created(fake_jira)
    record("Slack refusing connections through every retry, then back (roadmap.regenerate)",
           did=1 + MAX_RETRIES + job.attempts,
           lost=int(len(delivered) < 1) + int(job.status != "completed"),
           duplicated=max(0, len(delivered) - 1) + max(0, len(created) - 3),
           note=f"failed after {failed_after[1]} attempts ({failed_after[2]}); the staff "
                f"retry completed; {len(delivered)} message, {len(created)} epics")
    assert failed_after[:3] == ("failed", 1 + MAX_RETRIES, "retryable")
    assert failed_after[3].startswith(f"Failed after {MAX_RETRIES} retries: Slack unreachable")
    assert job.status == "completed", job.error
    assert len(fake_slack.calls("/api/chat.postMessage")) == 1 and len(delivered) == 1
    assert summaries(created) == ["Billing", "Exports", "Pricing"]


def test_jira_refusing_connections_then_back_opens_each_epic_once_and_slack_posts_once(
        project, fake_slack, fake_jira, background_worker, settings):
    # A longer back-off here: Jira comes back while the job waits for its first retry.
    settings.JOBS = {**settings.JOBS, "RETRY_BASE_SECONDS": 1.0}
    fake_jira.go_down()
    job = regenerate(project)
    worker = background_worker()

    wait_for(lambda: job.events.filter(kind="retry_scheduled").exists(), timeout=10)
    fake_jira.come_back()
    job = finish(job, worker)

    delivered, created = slack_delivered(fake_slack), jira_created(fake_jira)
    record("Jira refusing connections, back before the retry (roadmap.regenerate)",
           did=job.attempts, lost=int(job.status != "completed") + max(0, 3 - len(created)),
           duplicated=max(0, len(delivered) - 1) + max(0, len(created) - 3),
           note=f"{job.attempts} attempts; Slack posted in attempt 1 and not again; "
                f"{len(created)} epics for 3 items")
    assert (job.status, job.attempts) == ("completed", 2), job.error
    retry = retry_events(job)[0]
    assert retry.data["error_kind"] == "retryable" and "Jira unreachable" in retry.message
    # The alert went out in the first attempt; the retry found its record and did not ask.
    assert len(fake_slack.calls("/api/chat.postMessage")) == 1 and len(delivered) == 1
    assert summaries(created) == ["Billing", "Exports", "Pricing"]
    assert len(set(epic_keys(project).values())) == 3


@pytest.mark.faults
def test_jira_5xx_through_every_retry_fails_clearly_and_the_next_run_opens_each_epic_once(
        project, fake_slack, fake_jira, background_worker):
    # The creates fail (a lookup of the in-doubt epic before each retry answers).
    fake_jira.fail_next(503, times=1 + MAX_RETRIES, message="Service Unavailable",
                        path="/rest/api/2/issue")
    first = regenerate(project)
    worker = background_worker()

    first = finish(first, worker)
    # Jira is back (the script is used up); the next regeneration hands off again.
    second = finish(regenerate(project), worker)

    delivered, created = slack_delivered(fake_slack), jira_created(fake_jira)
    tried = len([r for r in fake_jira.calls("/rest/api/2/issue") if r.method == "POST"])
    record("Jira 503 through every retry, then back for the next run (roadmap.regenerate)",
           did=tried, lost=int(first.status != "failed") + max(0, 3 - len(created)),
           duplicated=max(0, len(delivered) - 1) + max(0, len(created) - 3),
           note=f"first job failed after {first.attempts} attempts; the next run opened "
                f"{len(created)} epics; Slack {len(delivered)} message over both")
    assert (first.status, first.attempts, first.error_kind) == (
        "failed", 1 + MAX_RETRIES, "retryable")
    assert first.error.startswith(f"Failed after {MAX_RETRIES} retries: Jira error 503")
    assert second.status == "completed", second.error
    # Slack: one alert for the new critical item, in the first job's first attempt only.
    assert len(fake_slack.calls("/api/chat.postMessage")) == 1 and len(delivered) == 1
    assert summaries(created) == ["Billing", "Exports", "Pricing"]
    assert tried == 1 + MAX_RETRIES + 3
    assert second.output["jira_epics"] == epic_keys(project) and len(epic_keys(project)) == 3


def test_jira_401_fails_at_once_after_slack_posted_once(
        project, fake_slack, fake_jira, background_worker):
    fake_jira.fail_next(401, message="You are not authenticated.")
    job = regenerate(project)

    job = finish(job, background_worker())
    time.sleep(3 * BASE)

    tried = [r for r in fake_jira.calls("/rest/api/2/issue") if r.method == "POST"]
    record("Jira 401 (roadmap.regenerate)", did=1, lost=int(job.status != "failed"),
           duplicated=max(0, len(tried) - 1) + max(0, len(slack_delivered(fake_slack)) - 1),
           note=f"{job.attempts} attempt; {job.error[:60]}")
    assert (job.status, job.attempts, job.error_kind) == ("failed", 1, "auth")
    assert job.error == "Jira refused the credentials (401)"
    assert len(tried) == 1 and not retry_events(job)
    assert len(slack_delivered(fake_slack)) == 1



def _answer_first_late(fake: FakeServer, method: str, prefix: str, delay: float) -> None:
    """The service does the work (posts, creates) but its first answer comes after `delay`."""
    index, route = next((n, r) for n, r in enumerate(fake.routes) if r[:2] == (method, prefix))
    calls = {"n": 0}

    def late(rec: Recorded) -> Any:
        answer = route[2](rec)
        calls["n"] += 1
        if calls["n"] == 1:
            answer.delay = delay
        return answer

    fake.routes[index] = (method, prefix, late)


@pytest.mark.faults
@pytest.mark.parametrize("service", ["slack", "jira"])
def test_an_answer_lost_to_the_client_timeout_is_not_sent_again(
        project, fake_slack, fake_jira, background_worker, settings, service):
    settings.INTEGRATIONS_TIMEOUT_SECONDS = 1.0
    if service == "slack":
        _answer_first_late(fake_slack, "POST", "/api/chat.postMessage", 1.8)
    else:
        _answer_first_late(fake_jira, "POST", "/rest/api/2/issue", 1.8)
    job = finish(regenerate(project), background_worker())

    delivered, created = slack_delivered(fake_slack), jira_created(fake_jira)
    effects = len(delivered) if service == "slack" else len(created)
    expected = 1 if service == "slack" else 3
    lookups = len(fake_slack.calls("/api/conversations.history") if service == "slack"
                  else fake_jira.calls("/rest/api/2/search"))
    record(f"{service.capitalize()} does the work but answers after the client timeout "
           "(roadmap.regenerate)", did=job.attempts,
           lost=int(job.status != "completed"), duplicated=max(0, effects - expected),
           note=f"{job.attempts} attempts; {len(delivered)} Slack messages, {len(created)} "
                "epics for 3 items; the retry looked the in-doubt send up "
                f"({lookups} lookup) and did not send it again")
    assert job.status == "completed", job.error
    assert effects == expected
    assert (job.attempts, lookups) == (2, 1)
    assert SentEffect.objects.filter(kind=service, state="sent").count() == expected
