"""Demo data: three dozen comparisons with a year of weekly series each.

Popularity is spread so each warmup has work and a visible selection: some
comparisons are viewed a lot, some visited lately, some never.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from typing import Any

from django.utils import timezone

from warmup import services
from warmup.models import Comparison

PAIRS = [
    ("react", "vue"), ("python", "javascript"), ("postgres", "mysql"), ("django", "rails"),
    ("kubernetes", "nomad"), ("rust", "go"), ("figma", "sketch"), ("notion", "obsidian"),
    ("slack", "teams"), ("zoom", "meet"), ("aws", "gcp"), ("linux", "windows"),
    ("iphone", "pixel"), ("netflix", "disney"), ("spotify", "apple-music"), ("tea", "coffee"),
    ("running", "cycling"), ("yoga", "pilates"), ("tesla", "rivian"), ("airbnb", "hotels"),
    ("chatgpt", "claude"), ("excel", "sheets"), ("jira", "linear"), ("github", "gitlab"),
    ("vim", "emacs"), ("mac", "pc"), ("kindle", "kobo"), ("uber", "lyft"), ("stripe", "paypal"),
    ("shopify", "woocommerce"), ("redis", "memcached"), ("docker", "podman"),
    ("terraform", "pulumi"), ("svelte", "solid"), ("kotlin", "swift"), ("ski", "snowboard"),
]
WEEKS = 52


def _series(rng: random.Random) -> list[float]:
    """Level + trend + a yearly season + noise, on Google Trends' 0-100 scale."""
    base, trend = rng.uniform(20, 60), rng.uniform(-0.4, 0.6)
    season, phase = rng.uniform(0, 15), rng.uniform(0, 2 * math.pi)
    return [
        round(min(100.0, max(0.0, base + trend * week
                             + season * math.sin(2 * math.pi * week / WEEKS + phase)
                             + rng.uniform(-5, 5))), 1)
        for week in range(WEEKS)
    ]


def seed(*, organization: Any, user: Any) -> str | None:
    rng = random.Random(42)
    now = timezone.now()
    monday = now.date() - dt.timedelta(days=now.weekday())
    start = monday - dt.timedelta(weeks=WEEKS)
    created = 0
    for index, (a, b) in enumerate(PAIRS):
        series_a, series_b = _series(rng), _series(rng)  # drawn always: stable across runs
        slug = f"{a}-vs-{b}"
        if Comparison.objects.filter(slug=slug).exists():
            continue
        comparison = services.comparison_create(
            slug=slug, term_a=a, term_b=b, series_a=series_a, series_b=series_b,
            series_start=start, created_by=user,
            # A third never viewed, the rest from 60 views down; every third not visited.
            view_count=0 if index % 3 == 2 else max(1, 60 - index * 2),
            last_visited_at=None if index % 3 == 1 else now - dt.timedelta(days=index),
        )
        # As if added over the past months (created_at is set on insert), so
        # "created in the last 7 days" picks a few, not all.
        Comparison.objects.filter(id=comparison.id).update(
            created_at=now - dt.timedelta(days=3 + 9 * index))
        created += 1
    total = Comparison.objects.count()
    return (f"{total} comparisons ({created} new) with {WEEKS} weeks each; "
            f"try /api/comparison/premium?slug=react-vs-vue")
