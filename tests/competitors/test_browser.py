"""In a real browser (Debian's Chromium) against uvicorn: a user on the decision page
starts a competitor analysis and watches it advance live to a saved profile."""

from __future__ import annotations

import re

import pytest

from competitors.models import CompetitorProfile, MarketResearch, Output
from jobs import lifecycle
from jobs.models import Job

pytestmark = pytest.mark.django_db(transaction=True)

# Records every text the modal's percentage and message take, as the page shows them.
RECORD = """
window.__seen = [];
document.addEventListener('DOMContentLoaded', () => {
  const watch = (selector, kind) => {
    const node = document.querySelector(selector);
    if (!node) return;
    new MutationObserver(() => window.__seen.push([kind, node.textContent]))
      .observe(node, {childList: true, characterData: true, subtree: true});
  };
  watch('#job-modal .percent', 'percent');
  watch('#job-modal .message', 'message');
  watch('#brief .inline-progress .message', 'inline');
});
"""
SEED_PERCENTS = ["10%", "20%", "30%", "40%", "50%", "60%", "70%", "90%", "100%"]
SEED_MESSAGES = ["Scraping website...", "Searching for news...", "Gathering reviews...",
                 "Analyzing data..."]


def seen(page, kind: str) -> list[str]:
    values = [v for k, v in page.evaluate("window.__seen") if k == kind]
    return [v for i, v in enumerate(values) if i == 0 or v != values[i - 1]]


def analyse(page, decision, url: str) -> None:
    page.add_init_script(RECORD)
    page.goto(f"/decisions/{decision.id}")
    page.fill("input[name=company_name]", "Acme Corp")
    page.fill("input[name=company_url]", url)
    page.click("#competitor-form button[type=submit]")
    page.wait_for_selector("#job-modal:not([hidden])")


def test_a_competitor_analysis_advances_live_in_the_modal_to_a_saved_profile(
    page, decision, site, background_worker
):
    analyse(page, decision, f"{site.url}/")
    modal = page.locator("#job-modal")
    assert modal.locator("#job-modal-title").inner_text().endswith("Analyzing Competitor")
    assert modal.locator(".hint").inner_text() == "This usually takes 30-90 seconds"
    assert modal.locator(".hint svg use").get_attribute("href") == "#i-bulb"  # an icon, no emoji
    assert modal.locator("button.cancel").is_visible()
    page.wait_for_function("document.querySelector('#job-modal').dataset.mode === 'stream'")

    background_worker()

    toast = page.wait_for_selector(".toast-success:has-text('Competitor profile ready')")
    assert "Acme Corp has been analyzed." in toast.inner_text()
    percents = seen(page, "percent")
    assert [p for p in percents if p in SEED_PERCENTS] == SEED_PERCENTS  # every step, in order
    assert [m for m in seen(page, "message") if m in SEED_MESSAGES] == SEED_MESSAGES
    assert modal.is_hidden()
    profile = CompetitorProfile.objects.get(decision=decision)
    assert page.locator(f"#profile-{profile.id}").inner_text().startswith("Acme Corp")

    toast.query_selector("a.view").click()
    page.wait_for_url(re.compile(f"/competitors/{profile.id}$"))
    assert page.locator("#profile h1").inner_text().startswith("Acme Corp")
    assert "Plans start at $59 per month" in page.locator("#profile").inner_text()


def test_run_in_background_closes_the_modal_and_toasts_the_start_then_the_result(
    page, decision, site, background_worker
):
    analyse(page, decision, f"{site.url}/")
    job = Job.objects.get(type="competitor_analysis", decision_id=decision.id)

    page.click("#job-modal button.background")

    started = page.wait_for_selector(".toast:has-text('Competitor analysis started')")
    assert page.locator("#job-modal").is_hidden()
    assert started.inner_text().splitlines() == [
        "Competitor analysis started", "We'll notify you when it's ready.", "View"]
    assert started.query_selector("svg use").get_attribute("href") == "#i-clock"
    assert started.query_selector("a.view").get_attribute("href") == f"/jobs/#job-{job.id}"
    assert started.get_attribute("data-job-id") == str(job.id)
    background_worker()

    # The job is still followed with the modal closed: its completion toasts too.
    ready = page.wait_for_selector(".toast-success:has-text('Competitor profile ready')")
    assert "Acme Corp has been analyzed." in ready.inner_text()
    assert page.locator("#job-modal").is_hidden()
    profile = CompetitorProfile.objects.get(decision=decision, job_id=job.id)
    assert page.locator(f"#profile-{profile.id}").inner_text().startswith("Acme Corp")


def test_cancel_a_running_job_from_the_modal(page, decision, site, settings, background_worker):
    settings.COMPETITORS_SCRAPE_TIMEOUT_SECONDS = 10
    site.slow_delay = 2.0  # the job sits at "Scraping website..." for a while
    analyse(page, decision, f"{site.url}/slow")
    background_worker()
    page.wait_for_function(
        "document.querySelector('#job-modal .message').textContent === 'Scraping website...'")
    job = Job.objects.get(type="competitor_analysis")
    assert job.status == "running"

    # Every text the message shows from here on: an async handler stops within
    # the worker's abort poll, so "Cancelling" may be on screen for a moment only.
    page.evaluate("""() => {
        const el = document.querySelector('#job-modal .message');
        window.shownMessages = [];
        new MutationObserver(() => window.shownMessages.push(el.textContent))
            .observe(el, {childList: true, characterData: true, subtree: true});
    }""")
    page.click("#job-modal button.cancel")

    toast = page.wait_for_selector(".toast:has-text('Competitor analysis cancelled')")
    assert "Cancelling: the job stops at its next step." in page.evaluate("window.shownMessages")
    assert "The job was cancelled." in toast.inner_text()
    # Cancelled is not a success: its own class and icon, never the check mark.
    assert "toast-cancelled" in toast.get_attribute("class")
    assert toast.query_selector("svg use").get_attribute("href") == "#i-ban"
    assert page.locator("#job-modal").is_hidden()
    job.refresh_from_db()
    assert job.status == "cancelled" and not CompetitorProfile.objects.exists()


# When the page asked for the job (GET /api/jobs/{id}), in the browser's own clock (ms).
POLL_TIMES = """
performance.getEntriesByType('resource')
  .filter(e => /\\/api\\/jobs\\/[0-9a-f-]{36}$/.test(new URL(e.name).pathname))
  .map(e => e.startTime)
"""


def test_the_browser_polls_at_the_types_interval_when_the_stream_is_blocked(
    page, decision, site, background_worker
):
    interval = 3000  # competitor_analysis, the seed's table (jobpoll.js's own default: 2000)
    page.route("**/api/jobs/*/events", lambda route: route.abort())
    analyse(page, decision, f"{site.url}/")
    page.wait_for_function("document.querySelector('#job-modal').dataset.mode === 'poll'")
    page.evaluate("performance.setResourceTimingBufferSize(1000)")
    # Three polls of the pending job before a worker runs: at least two gaps to measure.
    page.wait_for_function(f"({POLL_TIMES}).length >= 3", timeout=30_000)

    background_worker()

    page.wait_for_selector(".toast-success:has-text('Competitor profile ready')")
    assert page.locator("#job-modal .mode").inner_text() == "Checking every few seconds"
    assert CompetitorProfile.objects.filter(decision=decision).count() == 1
    times = page.evaluate(POLL_TIMES)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(gaps) >= 2, times
    # Each poll waits the interval after the previous answer: never sooner, and not
    # much later than the interval plus an answer's time on a loaded machine.
    assert all(gap >= interval * 0.95 for gap in gaps), gaps
    assert all(gap < interval * 1.6 for gap in gaps), gaps
    assert sorted(gaps)[len(gaps) // 2] < interval * 1.25, gaps


def test_brief_generation_shows_inline_progress_then_the_brief(page, decision, background_worker):
    page.add_init_script(RECORD)
    page.goto(f"/decisions/{decision.id}")

    page.click("#generate-brief")
    inline = page.locator("#brief .inline-progress")
    inline.wait_for(state="visible")
    assert "Generating..." in inline.inner_text()
    assert page.locator("#generate-brief").is_disabled()
    background_worker()

    page.wait_for_selector("#brief-output .brief-content")
    output = Output.objects.get(decision=decision)
    # The brief's Markdown is rendered: its title is a heading, not "# Brief: ...".
    assert page.locator("#brief-output .brief-content h1").first.inner_text() == (
        f"Brief: {decision.title}")
    assert "Synthesizing decision data..." in seen(page, "inline")
    assert inline.is_hidden() and not page.locator("#generate-brief").is_disabled()
    assert output.content.startswith("# Brief:")


def test_market_research_runs_in_the_background_with_toasts(page, decision, background_worker):
    page.goto(f"/decisions/{decision.id}")

    page.click("#research-form button[type=submit]")

    started = page.wait_for_selector(".toast:has-text('Market research started')")
    assert "We'll notify you when it's ready." in started.inner_text()
    assert started.query_selector("a.view").get_attribute("href").startswith("/jobs/#job-")
    background_worker()
    ready = page.wait_for_selector(".toast-success:has-text('Market research ready')")
    assert "3 evidence item(s) added." in ready.inner_text()
    research = MarketResearch.objects.get(decision=decision)
    assert "Demand is growing fast." in page.locator(f"#research-{research.id}").inner_text()


def test_the_jobs_page_shows_status_live(page, decision, org, user, background_worker):
    job = lifecycle.job_create(job_type="brief_generation", input={}, organization=org, user=user,
                               decision_id=decision.id)
    page.goto("/jobs/")
    row = page.locator(f"#job-{job.id}")
    assert row.locator(".status").inner_text() == "Queued"
    assert row.locator(".message").inner_text().startswith("Waiting for a worker to start it")
    page.wait_for_function(
        f"document.querySelector('#job-{job.id}').dataset.mode === 'stream'")

    background_worker()

    page.wait_for_function(
        f"document.querySelector('#job-{job.id}').dataset.status === 'completed'")
    assert row.locator(".status").inner_text() == "Done"
    assert row.locator(".percent").inner_text() == "100%"
    assert row.locator(".message").inner_text() == "Completed"


def test_an_option_is_analysed_in_the_modal(page, decision, background_worker):
    option = decision.options.get(title="Self-serve tier")
    page.goto(f"/decisions/{decision.id}")

    page.click(f"#option-{option.id} button.analyze-option")
    page.wait_for_selector("#job-modal:not([hidden])")
    assert page.locator("#job-modal .title").inner_text() == "Analyzing Option"
    assert page.locator("#job-modal .hint").inner_text().endswith("10-20 seconds")
    background_worker()

    toast = page.wait_for_selector(".toast-success:has-text('Option analysis ready')")
    option.refresh_from_db()
    score = option.ai_analysis["score"]
    assert f"Self-serve tier: score {score}/10" in toast.inner_text()
    assert f"score {score}/10" in page.locator(f"#option-{option.id}").inner_text()


def test_the_brief_page_shows_the_brief_growing_before_the_job_completes(
    page, decision, fake_openai, settings, background_worker
):
    # The model streams the brief (JSON) in 8 pieces over 4 s: the page shows its words
    # as they are written, under the inline progress, then the saved brief at the end.
    import json

    settings.LLM_TIMEOUT_SECONDS = 30.0
    settings.JOBS = {**settings.JOBS, "PARTIAL_OUTPUT_SECONDS": 0.2}
    brief = {
        "title": "Brief: go self-serve",
        "summary": "Small teams want analytics they can set up alone; demand grows fast.",
        "sections": [{"heading": "Options", "body": "Self-serve wins on reach and cost."}],
        "recommendation": "Build the self-serve tier, keep sales for large accounts.",
    }
    fake_openai.reply = json.dumps(brief)
    fake_openai.delay, fake_openai.stream_chunks = 4.0, 8
    page.goto(f"/decisions/{decision.id}")
    background_worker()

    page.click("#generate-brief")

    partial = page.locator("#brief .inline-progress .partial-output")
    partial.wait_for(state="visible", timeout=15000)
    shown = partial.inner_text()
    job = Job.objects.get(type="brief_generation")
    assert Job.objects.values_list("status", flat=True).get(id=job.id) == "running"
    # Words, not JSON; the beginning of what the model is writing, not all of it yet.
    assert shown.startswith("Brief: go") and "{" not in shown and '"' not in shown
    assert "keep sales for large accounts" not in shown
    page.wait_for_selector("#brief-output .brief-content", timeout=20000)
    assert page.locator("#brief-output .brief-content h1").first.inner_text() == (
        "Brief: go self-serve")
    assert partial.is_hidden() and partial.inner_text() == ""
    job.refresh_from_db()
    assert job.status == "completed" and job.output["title"] == "Brief: go self-serve"
    assert len(fake_openai.calls("/v1/chat/completions")) == 1
    assert fake_openai.calls("/v1/chat/completions")[0].json()["stream"] is True
