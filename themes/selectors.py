"""Reads: recent interviews for the scanner, and what a user may see."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from jobs import selectors as job_selectors
from jobs.models import Organization
from themes.models import AuditEntry, Interview, Quote, Theme


def interviews_recent(
    *, organization: Organization, lookback_days: int, max_interviews: int
) -> list[Interview]:
    """The newest `max_interviews` interviews of the last `lookback_days` days, with quotes."""
    since = timezone.now().date() - dt.timedelta(days=lookback_days)
    return list(
        Interview.objects.filter(organization=organization, interviewed_at__gte=since)
        .order_by("-interviewed_at", "-created_at", "id")
        .prefetch_related(Prefetch("quotes", queryset=Quote.objects.order_by("id")))[
            :max_interviews
        ]
    )


def interviews_for_user(user: Any) -> QuerySet[Interview]:
    return Interview.objects.filter(
        organization__in=job_selectors.organizations_for_user(user)
    ).prefetch_related(Prefetch("quotes", queryset=Quote.objects.order_by("id")))


def themes_for_user(user: Any) -> QuerySet[Theme]:
    return Theme.objects.filter(organization__in=job_selectors.organizations_for_user(user))


def audit_entries_for_user(user: Any) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(
        organization__in=job_selectors.organizations_for_user(user)
    )
