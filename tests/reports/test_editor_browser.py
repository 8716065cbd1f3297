"""The seed's testing section in a real browser: Playwright drives Debian's Chromium
(/usr/bin/chromium, never a downloaded browser) against the live server started by the
test and a real background worker. Skipped, with the reason, only where Chromium is missing."""

from __future__ import annotations

import dataclasses
import re
import time

import pytest

from jobs import registry
from reports import services
from reports.models import AnalysisJob, Block, Document, Revision
from tests.conftest import job_status, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

POLL_MS = 300


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch):
    """The report job types ask browsers to poll every 300 ms (the seed's 1 s, faster)."""
    for name in services.JOB_TYPES.values():
        monkeypatch.setitem(registry._registry, name,
                            dataclasses.replace(registry.get(name), poll_interval_ms=POLL_MS))


class Polls:
    """Every poll of one job URL the page makes: when, with which If-None-Match, answered how."""

    def __init__(self, page, pattern: str) -> None:
        self.requests: list[tuple[float, str | None]] = []
        self.statuses: list[int] = []
        regex = re.compile(pattern)

        def on_request(request):
            if request.method == "GET" and regex.search(request.url):
                self.requests.append((time.monotonic(), request.headers.get("if-none-match")))

        def on_response(response):
            if response.request.method == "GET" and regex.search(response.url):
                self.statuses.append(response.status)

        page.on("request", on_request)
        page.on("response", on_response)

    def gaps_ms(self) -> list[float]:
        times = [t for t, _ in self.requests]
        return [(b - a) * 1000 for a, b in zip(times, times[1:], strict=False)]


def pump_until(page, predicate, timeout: float = 10.0) -> None:
    """Wait while Playwright delivers its events (a plain sleep would hold them back)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"condition not met within {timeout} s"
        page.wait_for_timeout(50)


def test_create_a_document_add_a_prompt_block_generate_and_see_the_content(
    page, background_worker
):
    # 1. Create a new report document.
    page.goto("/report-builder/")
    page.fill("#new-document input[name=title]", "Browser report")
    page.click("#new-document button[type=submit]")
    page.wait_for_url(re.compile(r"/report-builder/[0-9a-f-]{36}$"))
    document = Document.objects.get(title="Browser report")
    page.click("#context summary")
    page.select_option("#context select[name=kind]", "evidence")
    page.fill("#context textarea[name=text]", "Pricing confuses users.")
    page.click("#context button[type=submit]")
    # 2. Add a PROMPT_RESPONSE block with a prompt.
    page.fill("#add-block textarea[name=prompt]", "Summarise the evidence.")
    page.click("#add-block button[type=submit]")
    section = page.locator("section.block[data-kind=PROMPT_RESPONSE]")
    section.wait_for()
    block = Block.objects.get(document=document)
    polls = Polls(page, r"/api/report-builder/jobs/[0-9a-f-]{36}$")

    # 3. Click "Generate"; 4. watch the loading spinner (no worker yet: it stays).
    section.locator("button.generate").click()
    section.locator("button.generate .spinner").wait_for()
    assert section.locator("button.generate").inner_text().strip() == "Generating…"
    assert section.locator("button.cancel").is_visible()
    assert "AI is working on your response..." in page.locator(".toast").first.inner_text()
    pump_until(page, lambda: len(polls.requests) >= 4)

    background_worker()

    # 5. The content appears, with its revision.
    content = section.locator(".content")
    page.wait_for_function(
        "document.querySelector('section.block .content').textContent.includes('Summarise')")
    assert "Pricing confuses users." in content.inner_text()
    block.refresh_from_db()
    assert content.inner_text() == block.content
    job_id = str(AnalysisJob.objects.get(block=block).job_id)
    assert section.locator(".revision-count").inner_text() == "1"
    section.locator(".history summary").click()
    revision = section.locator("li.revision").first
    assert revision.get_attribute("data-job-id") == job_id
    assert f"GENERATE job {job_id[:8]}" in revision.inner_text()
    assert Revision.objects.get(block=block).job_id is not None
    assert section.locator(".spinner").count() == 0
    assert section.locator("button.generate").is_enabled()
    assert section.locator("button.cancel").is_hidden()
    # 6. It polled at the type's interval, with If-None-Match, and got 304s while unchanged.
    assert all(gap >= POLL_MS * 0.8 for gap in polls.gaps_ms())
    assert sorted(polls.gaps_ms())[len(polls.gaps_ms()) // 2] < 1000  # not the 2 s default
    assert polls.requests[0][1] is None and all(tag for _, tag in polls.requests[1:])
    assert 304 in polls.statuses


def test_a_failing_job_shows_the_error_and_changes_nothing(page, document, block, settings,
                                                           background_worker):
    settings.REPORTS_LLM_PROVIDER = "anthropic"  # and no key
    page.goto(f"/report-builder/{document.id}")
    background_worker()

    page.locator("section.block button.generate").click()

    toast = page.wait_for_selector(".toast-error")
    assert "No Anthropic API key configured" in toast.inner_text()
    section = page.locator("section.block")
    assert section.locator(".status").inner_text() == "Failed: No Anthropic API key configured"
    assert section.locator(".content").inner_text().strip() == ""
    assert section.locator(".revision-count").inner_text() == "0"
    assert section.locator("button.generate").is_enabled()
    assert section.locator(".spinner").count() == 0


def test_cancel_stops_a_running_job_from_the_editor(page, document, block, held_claude,
                                                   background_worker):
    page.goto(f"/report-builder/{document.id}")
    section = page.locator("section.block")
    section.locator("button.generate").click()
    section.locator("button.generate .spinner").wait_for()
    background_worker()
    assert held_claude.arrived.wait(20)  # running: Claude is answering

    section.locator("button.cancel").click()
    job_id = AnalysisJob.objects.get(block=block).job_id
    wait_for(lambda: AnalysisJob.objects.get(job_id=job_id).job.cancel_requested_at)
    held_claude.release()

    page.wait_for_function(
        "document.querySelector('section.block .status').textContent === 'Cancelled'")
    assert job_status(job_id) == "cancelled"
    assert "block is unchanged" in page.locator(".toast").last.inner_text()
    assert section.locator(".content").inner_text().strip() == ""
    block.refresh_from_db()
    assert block.content == "" and not block.revisions.exists()


def test_a_reload_follows_the_running_refine_and_analyze_leaves_the_block(
    page, document, block, user, background_worker
):
    services.block_update(block=block, content="First draft.")
    services.analysis_job_create(document=document, block=block, type="REFINE",
                                 prompt="Tighter", user=user)

    page.goto(f"/report-builder/{document.id}")  # the job was started elsewhere
    section = page.locator("section.block")
    section.locator("button.refine .spinner").wait_for()
    assert section.locator("button.refine").inner_text().strip() == "Refining…"
    background_worker()
    page.wait_for_function(
        "document.querySelector('section.block .content').textContent.includes('Tighter')")
    assert section.locator(".revision-count").inner_text() == "2"  # the manual edit, the job
    refined = section.locator(".content").inner_text()

    section.locator("button.analyze").click()

    analysis = section.locator(".analysis")
    analysis.wait_for()
    assert "Pricing confuses 12 users." in analysis.inner_text()
    assert section.locator(".content").inner_text() == refined
    assert section.locator(".revision-count").inner_text() == "2"


def test_refine_from_the_editor_uses_the_feedback(page, document, block, background_worker):
    services.block_update(block=block, content="Long and winding text.")
    page.goto(f"/report-builder/{document.id}")
    section = page.locator("section.block")
    background_worker()

    section.locator("button.refine").click()  # no feedback yet: it asks for some
    assert "Write how the text should change first." in page.locator(".toast").last.inner_text()
    section.locator("input.feedback").fill("Say it in one line")
    section.locator("button.refine").click()

    page.wait_for_function("document.querySelector('section.block .content')"
                           ".textContent.includes('Say it in one line')")
    assert AnalysisJob.objects.get(block=block).type == "REFINE"


def test_jobpoll_follows_a_platform_job_with_its_hint_and_etags(page, document, block, user,
                                                              background_worker):
    job_id = str(services.analysis_job_create(document=document, block=block, type="GENERATE",
                                              prompt="", user=user).job_id)
    page.goto("/report-builder/")
    polls = Polls(page, rf"/api/jobs/{job_id}$")

    page.evaluate("""(jobId) => {
        window.seen = [];
        PlinthJobs.poll(jobId, {
          onProgress: (job) => seen.push(['progress', job.status]),
          onComplete: (job) => seen.push(['complete', job.output.content]),
          onError: (error) => seen.push(['error', String(error)]),
        });
        PlinthJobs.poll('00000000-0000-4000-8000-000000000000', {
          onError: (error) => seen.push(['missing', error.status, error.message]),
        });
    }""", job_id)
    pump_until(page, lambda: len(polls.requests) >= 4)
    background_worker()

    page.wait_for_function("window.seen.some((e) => e[0] === 'complete')")
    seen = page.evaluate("window.seen")
    # The two polls run side by side, so the 404 may land anywhere in between.
    assert ["missing", 404, "Job not found"] in seen
    followed = [e for e in seen if e[0] != "missing"]
    assert followed[0] == ["progress", "pending"] and followed[-1][0] == "complete"
    assert "Summarise the problems." in followed[-1][1]
    assert not [e for e in seen if e[0] == "error"]
    gaps = polls.gaps_ms()
    assert all(gap >= POLL_MS * 0.8 for gap in gaps[1:])  # the hint, from the first answer on
    assert polls.requests[0][1] is None and all(tag for _, tag in polls.requests[1:])
    assert polls.statuses.count(304) >= 2


def test_the_editor_shows_the_text_growing_before_the_job_completes(
    page, document, block, fake_anthropic, settings, background_worker
):
    # Claude streams its answer in 8 pieces over 4 s: the editor shows the text
    # written so far under the progress bar, then the block's content at the end.
    settings.REPORTS_LLM_PROVIDER = "anthropic"
    settings.LLM_TIMEOUT_SECONDS = 30.0
    settings.JOBS = {**settings.JOBS, "PARTIAL_OUTPUT_SECONDS": 0.2}
    answer = "Pricing confuses users; support is slow; onboarding needs a guide. " * 2
    fake_anthropic.reply = answer
    fake_anthropic.delay, fake_anthropic.stream_chunks = 4.0, 8
    page.goto(f"/report-builder/{document.id}")
    section = page.locator("section.block")
    background_worker()

    section.locator("button.generate").click()

    partial = section.locator(".partial-output")
    partial.wait_for(timeout=15000)
    shown = partial.inner_text()
    job = AnalysisJob.objects.get(block=block).job
    assert shown and answer.startswith(shown.strip()[:20])
    assert len(shown) < len(answer)
    assert job_status(job.id) == "running"  # seen before completion
    page.wait_for_function(
        "document.querySelector('section.block .content').textContent.includes('onboarding')",
        timeout=20000)
    assert section.locator(".partial-output").count() == 0
    assert section.locator(".content").inner_text().strip() == answer.strip()
    job.refresh_from_db()
    assert job.status == "completed" and job.output["content"] == answer
