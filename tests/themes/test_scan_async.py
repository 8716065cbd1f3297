"""themes.scan as an async handler: a cancel lands in the middle of the LLM call."""

from __future__ import annotations

import time

import pytest

from jobs import lifecycle, registry
from jobs.ai.models import GenerationLog
from jobs.models import JobEvent, JobStep, RunLog
from tests.conftest import job_status, wait_for
from tests.themes.builders import WORDS, interviews_about
from themes.models import AuditEntry, Theme
from themes.services import theme_scan_start

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_scan_handler_is_async():
    import inspect

    assert inspect.iscoroutinefunction(registry.get("themes.scan").handler)


def test_a_scan_cancelled_while_the_model_answers_stops_at_once(org, background_worker,
                                                               fake_openai, settings):
    settings.LLM_TIMEOUT_SECONDS = 60.0
    fake_openai.delay = 30.0  # the model takes 30 s to answer
    interviews_about(org, WORDS[:2])
    job = theme_scan_start(organization=org, source="internal")
    background_worker()
    wait_for(lambda: fake_openai.calls("/v1/chat/completions"), timeout=20)

    asked = time.monotonic()
    lifecycle.job_cancel(job.id)
    wait_for(lambda: job_status(job.id) == "cancelled", timeout=10)

    assert time.monotonic() - asked < 5  # not after the 30 s call
    assert JobEvent.objects.filter(job_id=job.id, kind="cancelled").count() == 1
    # Nothing after the call ran: no step stored, no theme, no audit entry.
    assert not JobStep.objects.filter(job_id=job.id).exists()
    assert not Theme.objects.exists() and not AuditEntry.objects.exists()
    log = wait_for(lambda: RunLog.objects.filter(job_id=job.id).exclude(
        status=RunLog.Status.RUNNING).first(), timeout=5)
    assert log.status == RunLog.Status.FAILED and log.metadata.get("aborted") is True
    generation = wait_for(lambda: GenerationLog.objects.filter(job_id=job.id).first(), timeout=5)
    assert not generation.success and "Cancelled" in generation.error
    assert len(fake_openai.calls("/v1/chat/completions")) == 1
