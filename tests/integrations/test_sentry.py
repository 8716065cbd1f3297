"""Sentry: a failed job reaches a local ingest endpoint, tagged; off when unset."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sentry_sdk

from jobs import lifecycle, registry, runtime
from jobs.errors import PermanentJobError, RetryableJobError
from jobs.integrations import sentry
from tests.conftest import drain
from tests.fakes.server import sentry_events


def _fail_permanently(ctx: Any) -> None:
    raise PermanentJobError("Company URL doesn't exist")


def _fail_once(ctx: Any) -> dict[str, Any]:
    if ctx.attempt == 1:
        raise RetryableJobError("flaky network")
    return {"ok": True}


registry.register(registry.JobType(name="test_sentry_fail", handler=_fail_permanently,
                                   public=False))
registry.register(registry.JobType(name="test_sentry_flaky", handler=_fail_once, public=False))


@pytest.fixture
def sentry_on(fake_sentry: Any, settings: Any) -> Iterator[Any]:
    settings.SENTRY_DSN = fake_sentry.dsn
    assert sentry.init_sentry()
    yield fake_sentry
    sentry_sdk.init(dsn=None)


def test_the_failure_hook_is_registered_and_sentry_is_off_without_a_dsn(settings):
    settings.SENTRY_DSN = ""

    assert sentry.capture_job_failure in runtime.failure_hooks
    assert sentry.init_sentry() is False


@pytest.mark.django_db(transaction=True)
def test_a_failed_job_is_captured_with_its_tags(org, clean_queue, sentry_on):
    job = lifecycle.job_create(job_type="test_sentry_fail", input={}, organization=org)

    drain()
    sentry_sdk.flush(5)

    assert "django" in sentry_sdk.get_client().integrations
    (event,) = sentry_events(sentry_on)
    assert event["tags"]["job_id"] == str(job.id)
    assert event["tags"]["job_type"] == "test_sentry_fail"
    assert event["tags"]["organization"] == str(org.id)
    assert event["tags"]["error_kind"] == "permanent"
    (exception,) = event["exception"]["values"]
    assert exception["type"] == "PermanentJobError"
    assert exception["value"] == "Company URL doesn't exist"


@pytest.mark.django_db(transaction=True)
def test_a_retried_attempt_that_then_succeeds_sends_nothing(org, clean_queue, sentry_on):
    job = lifecycle.job_create(job_type="test_sentry_flaky", input={}, organization=org)

    drain()
    sentry_sdk.flush(5)

    job.refresh_from_db()
    assert job.status == "completed" and job.attempts == 2
    assert sentry_events(sentry_on) == []
