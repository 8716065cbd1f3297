"""Builders for warmup tests: comparisons with chosen popularity, secrets, the offline LLM."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from warmup import services
from warmup.models import Comparison

LINE = [float(v) for v in range(10, 62)]  # a year of weeks, rising by one a week


def make_comparison(
    slug: str,
    *,
    views: int = 0,
    visited_days: float | None = None,
    created_days: float = 60,
    series: list[float] | None = None,
) -> Comparison:
    """A comparison created `created_days` ago, viewed `views` times, visited `visited_days` ago."""
    series = LINE if series is None else series
    now = timezone.now()
    comparison = services.comparison_create(
        slug=slug, term_a=f"{slug}-a", term_b=f"{slug}-b", series_a=series,
        series_b=list(reversed(series)), series_start=dt.date(2025, 11, 24),
        view_count=views,
        last_visited_at=now - dt.timedelta(days=visited_days) if visited_days is not None
        else None,
    )
    # created_at is auto_now_add: backdate it with an UPDATE.
    Comparison.objects.filter(id=comparison.id).update(
        created_at=now - dt.timedelta(days=created_days))
    comparison.refresh_from_db()
    return comparison


@pytest.fixture
def secrets(settings: Any) -> None:
    settings.JOB_SECRET = "job-secret"
    settings.WARMUP_SECRET = "warmup-secret"


@pytest.fixture
def offline_llm(settings: Any) -> None:
    settings.LLM_PROVIDER = "offline"


@pytest.fixture
def job_client(secrets: None) -> Callable[..., Any]:
    """POST to a secret-protected warmup endpoint with the right secret."""
    client = APIClient()

    def post(path: str, body: Any = None, **headers: Any) -> Any:
        header = "HTTP_X_WARMUP_SECRET" if path.startswith("/api/comparison/") \
            else "HTTP_X_JOB_SECRET"
        secret = "warmup-secret" if header == "HTTP_X_WARMUP_SECRET" else "job-secret"
        return client.post(path, body if body is not None else {}, format="json",
                           **{header: secret, **headers})

    return post
