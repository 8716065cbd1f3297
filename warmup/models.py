"""Comparisons of two search terms, their weekly series, and cached forecasts and insights.

Comparisons are global, not per organization: they describe public search
terms, and one cached forecast serves every visitor (see docs/warmup.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import models


def series_hash(
    series_a: Sequence[float], series_b: Sequence[float], start: dt.date | None = None
) -> str:
    """The comparison's dataHash: what its cached forecasts and insights were computed from."""
    payload = json.dumps(
        [start.isoformat() if start else None, [float(v) for v in series_a],
         [float(v) for v in series_b]],
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


class Comparison(models.Model):
    slug = models.SlugField(max_length=200, unique=True)
    term_a = models.CharField(max_length=100)
    term_b = models.CharField(max_length=100)
    # Weekly interest values (0-100 in the demo), oldest first; week i starts
    # on series_start + 7 * i days when series_start is known.
    series_a = models.JSONField(default=list)
    series_b = models.JSONField(default=list)
    series_start = models.DateField(null=True, blank=True)
    data_hash = models.CharField(max_length=32, editable=False)
    view_count = models.PositiveIntegerField(default=0)
    last_visited_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["-view_count", "-last_visited_at"], name="comparison_popular_idx"),
            models.Index(fields=["created_at"], name="comparison_created_idx"),
        ]
        # The admin's warmup actions start jobs that run for hours.
        permissions = [("run_warmup", "Can start warmups from the admin")]

    def __str__(self) -> str:
        return self.slug

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The hash is an invariant of the row: whatever writes the series
        # writes the hash that names their cache entries.
        self.data_hash = series_hash(self.series_a, self.series_b, self.series_start)
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "data_hash"}
        super().save(*args, **kwargs)


class CachedEntry(models.Model):
    """One computed output per comparison and data hash, with its two lifetimes."""

    comparison = models.ForeignKey(Comparison, on_delete=models.CASCADE, related_name="+")
    data_hash = models.CharField(max_length=32)
    fresh_until = models.DateTimeField()
    stale_until = models.DateTimeField()
    computed_at = models.DateTimeField()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.comparison_id}@{self.data_hash}"


class CachedForecast(CachedEntry):
    payload = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["comparison", "data_hash"], name="unique_forecast")
        ]


class CachedInsight(CachedEntry):
    meaning_explanation = models.TextField()
    peak_explanation = models.TextField()
    provider = models.CharField(max_length=32, blank=True)
    model = models.CharField(max_length=100, blank=True)
    offline = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["comparison", "data_hash"], name="unique_insight")
        ]
