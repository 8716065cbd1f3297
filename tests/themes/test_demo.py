"""`make run`'s demo interviews stay inside a scan's default lookback on an old checkout."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.themes.builders import interview
from themes import demo
from themes.models import Interview
from themes.scanner import theme_scan_run
from themes.selectors import interviews_recent

pytestmark = pytest.mark.django_db


def dates() -> list[dt.date]:
    return list(Interview.objects.filter(title__startswith=demo.TITLE)
                .order_by("title").values_list("interviewed_at", flat=True))


def test_seeding_again_moves_aged_demo_interviews_back_into_the_lookback(org, user):
    demo.seed(organization=org, user=user)
    mine = interview(org, "Pricing again.", title="my own call", days_ago=70)
    as_seeded = dates()
    # The checkout is two months old now.
    aged = list(Interview.objects.filter(title__startswith=demo.TITLE))
    for item in aged:
        item.interviewed_at -= dt.timedelta(days=60)
    Interview.objects.bulk_update(aged, ["interviewed_at"])
    assert interviews_recent(organization=org, lookback_days=30, max_interviews=50) == []

    message = demo.seed(organization=org, user=user)

    today = timezone.now().date()
    assert "moved" in message
    redated = dates()
    assert max(redated) == today
    # the spacing is kept: every interview moved by the same number of days
    assert len({(a - b).days for a, b in zip(redated, as_seeded, strict=True)}) == 1
    found = interviews_recent(organization=org, lookback_days=30, max_interviews=50)
    assert len(found) == demo.INTERVIEWS
    assert Interview.objects.get(pk=mine.pk).interviewed_at == today - dt.timedelta(days=70)
    scan = theme_scan_run(organization=org, lookback_days=30, dry_run=True)
    assert {"Pricing", "Onboarding", "Export", "Search"} <= {t["name"] for t in scan.themes}

    # idempotent: a third seed moves nothing
    assert "moved" not in demo.seed(organization=org, user=user)
    assert dates() == redated
    assert Interview.objects.count() == demo.INTERVIEWS + 1
