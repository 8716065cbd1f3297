"""Writes of the themes app outside the scanner: interviews, and starting scans."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from jobs import lifecycle
from jobs.fanout import fan_out
from jobs.models import Job, Organization
from themes.models import Interview, Quote

SCAN_JOB_TYPE = "themes.scan"


def interview_create(
    *,
    organization: Organization,
    title: str,
    interviewed_at: dt.date,
    transcript: str = "",
    quotes: Iterable[str] = (),
) -> Interview:
    """An interview and its quotes, in one transaction."""
    with transaction.atomic():
        interview = Interview.objects.create(
            organization=organization,
            title=title,
            interviewed_at=interviewed_at,
            transcript=transcript,
        )
        Quote.objects.bulk_create(
            [Quote(interview=interview, text=text) for text in quotes if text.strip()]
        )
    return interview


def theme_scan_start(
    *,
    organization: Organization,
    lookback_days: int | None = None,
    max_interviews: int | None = None,
    dry_run: bool = False,
    source: str = "api",
    user: Any = None,
) -> Job:
    """Queue a scan of the organization's recent interviews.

    Raises JobAlreadyQueued while one waits for this organization (a running
    one does not block queueing the next).
    """
    data: dict[str, Any] = {"org_id": str(organization.id), "dry_run": dry_run}
    if lookback_days is not None:
        data["lookback_days"] = lookback_days
    if max_interviews is not None:
        data["max_interviews"] = max_interviews
    validated = lifecycle.job_validate_input(job_type=SCAN_JOB_TYPE, input=data)
    return lifecycle.job_create(
        job_type=SCAN_JOB_TYPE,
        input=validated,
        organization=organization,
        user=user,
        source=source,
        scope=f"organization:{organization.id}",
        # Internal, scheduled and staff scans are not users' jobs: the
        # per-organization limit is for what people start from the product.
        enforce_limits=False,
    )


def theme_scans_schedule(*, source: str = "schedule") -> dict[str, int]:
    """One scan per active organization; one already queued is left alone (jobs.fanout)."""
    return fan_out(
        Organization.objects.filter(is_active=True).order_by("slug"),
        log_type="themes.schedule_scans",
        create=lambda organization: theme_scan_start(organization=organization, source=source),
        organization_of=lambda organization: organization,
        describe=lambda organization: organization.slug,
    )
