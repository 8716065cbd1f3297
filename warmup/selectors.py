"""Reads: which comparisons each warmup picks, and what the cache holds for one."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from jobs.models import ACTIVE_STATUSES, Job
from warmup.models import CachedForecast, CachedInsight, Comparison

FRESH, STALE, MISSING = "fresh", "stale", "missing"


def comparisons_for_forecasts(
    *, limit: int, now: dt.datetime | None = None
) -> QuerySet[Comparison]:
    """The seed's popular comparisons of the last 7 days.

    Created or visited in the last 7 days, or viewed at all; by view count,
    then last visit, then creation, newest first. Never-visited comparisons
    sort after visited ones (Postgres would put NULLs first in a descending
    order; the seed means "most recently visited first").
    """
    since = (now or timezone.now()) - dt.timedelta(days=7)
    return Comparison.objects.filter(
        Q(created_at__gte=since) | Q(last_visited_at__gte=since) | Q(view_count__gt=0)
    ).order_by(
        F("view_count").desc(),
        F("last_visited_at").desc(nulls_last=True),
        F("created_at").desc(),
        "id",
    )[:limit]


def comparisons_for_ai_explanations(
    *, limit: int, now: dt.datetime | None = None
) -> QuerySet[Comparison]:
    """The seed's popular comparisons of the last 30 days.

    At least 10 views, or visited in the last 30 days; by view count, then
    last visit (never-visited last).
    """
    since = (now or timezone.now()) - dt.timedelta(days=30)
    return Comparison.objects.filter(
        Q(view_count__gte=10) | Q(last_visited_at__gte=since)
    ).order_by(F("view_count").desc(), F("last_visited_at").desc(nulls_last=True), "id")[:limit]


def freshness(entry: CachedForecast | CachedInsight | None, *, now: dt.datetime | None = None
              ) -> str:
    """fresh (served as is), stale (served, due for a refresh) or missing (absent or expired)."""
    if entry is None:
        return MISSING
    now = now or timezone.now()
    if now < entry.fresh_until:
        return FRESH
    if now < entry.stale_until:
        return STALE
    return MISSING


@dataclass(frozen=True)
class CachedPack:
    forecast: CachedForecast | None
    insight: CachedInsight | None
    forecast_state: str
    insight_state: str

    @property
    def needs_warmup(self) -> bool:
        return self.forecast_state != FRESH or self.insight_state != FRESH

    def as_json(self) -> dict[str, Any]:
        """The servable part: entries past their stale time are not served."""
        forecast = self.forecast if self.forecast_state != MISSING else None
        insight = self.insight if self.insight_state != MISSING else None
        return {
            "forecast": forecast.payload if forecast else None,
            "insights": {
                "meaningExplanation": insight.meaning_explanation,
                "peakExplanation": insight.peak_explanation,
                "provider": insight.provider,
                "model": insight.model,
                "offline": insight.offline,
                "computedAt": insight.computed_at.isoformat(),
            } if insight else None,
            "freshness": {"forecast": self.forecast_state, "insights": self.insight_state},
            "cachedUntil": {
                "forecast": _until(forecast),
                "insights": _until(insight),
            },
        }


def _until(entry: CachedForecast | CachedInsight | None) -> dict[str, str] | None:
    if entry is None:
        return None
    return {"fresh": entry.fresh_until.isoformat(), "stale": entry.stale_until.isoformat()}


def cached_pack(comparison: Comparison) -> CachedPack:
    """What the cache holds for the comparison's current data hash (two indexed reads)."""
    forecast = CachedForecast.objects.filter(
        comparison=comparison, data_hash=comparison.data_hash
    ).first()
    insight = CachedInsight.objects.filter(
        comparison=comparison, data_hash=comparison.data_hash
    ).first()
    now = timezone.now()
    return CachedPack(forecast, insight, freshness(forecast, now=now), freshness(insight, now=now))


def active_warmup(job_type: str, *, scope: str = "") -> Job | None:
    """The pending or running warmup job of this type (and scope), if any."""
    jobs = Job.objects.filter(type=job_type, status__in=ACTIVE_STATUSES)
    if scope:
        jobs = jobs.filter(scope=scope)
    return jobs.order_by("created_at").first()
