"""Sentry through sentry-sdk with the Django integration.

Initialised (in the app's `ready()`, so in web and worker processes) when
SENTRY_DSN is set; off otherwise. `capture_job_failure` is registered in
`jobs.runtime.failure_hooks`: a job's final failure is sent with the tags
job_id, job_type, organization and error_kind (retried attempts are not).
"""

from __future__ import annotations

import logging
from typing import Any

import sentry_sdk
from django.conf import settings

from jobs.models import Job

logger = logging.getLogger(__name__)


def init_sentry(dsn: str | None = None) -> bool:
    """Initialise sentry-sdk from `dsn` (default SENTRY_DSN); False when there is none."""
    dsn = dsn if dsn is not None else settings.SENTRY_DSN
    if not dsn:
        logger.debug("SENTRY_DSN is not set; Sentry is off")
        return False
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        integrations=[DjangoIntegration()],
        environment=settings.SENTRY_ENVIRONMENT,
        traces_sample_rate=settings.SENTRY_TRACES_SAMPLE_RATE,
        before_send=_drop_captured_job_failures,
    )
    return True


_CAPTURED = "_plinth_sentry_captured"


def _drop_captured_job_failures(event: Any, hint: dict[str, Any]) -> Any:
    """Drop a second event for a job failure `capture_job_failure` sent already.

    The worker re-raises a job's final failure so Procrastinate ends its row, and
    Procrastinate logs it; Sentry's own de-duplication misses that log when the
    handler ran on another thread (its "last seen" lives in a context variable)."""
    exc_info = hint.get("exc_info")
    if exc_info and getattr(exc_info[1], _CAPTURED, False):
        return None
    return event


def capture_job_failure(job: Job, exc: BaseException) -> None:
    """A `jobs.runtime.failure_hooks` hook: the job's final failure, tagged."""
    if sentry_sdk.get_client().dsn is None:
        return
    with sentry_sdk.new_scope() as scope:
        scope.set_tag("job_id", str(job.id))
        scope.set_tag("job_type", job.type)
        scope.set_tag("organization", str(job.organization_id or ""))
        scope.set_tag("error_kind", job.error_kind)
        scope.set_extra("attempts", job.attempts)
        sentry_sdk.capture_exception(exc)
    try:
        setattr(exc, _CAPTURED, True)
    except AttributeError:  # an exception type with __slots__: it may be reported twice
        pass
