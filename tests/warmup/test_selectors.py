"""Which comparisons each warmup picks, in which order, how many; and cache freshness."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.warmup.conftest import make_comparison
from warmup import selectors, services


def slugs(queryset) -> list[str]:
    return [c.slug for c in queryset]


@pytest.mark.django_db
def test_forecasts_pick_the_created_visited_or_viewed_ones_of_the_last_7_days():
    make_comparison("old-unviewed")                               # none of the three
    make_comparison("visited-8-days-ago", visited_days=8)         # none of the three
    make_comparison("created-2-days-ago", created_days=2)
    make_comparison("visited-3-days-ago", visited_days=3)
    make_comparison("viewed-once", views=1)
    make_comparison("popular", views=50, visited_days=20)

    assert slugs(selectors.comparisons_for_forecasts(limit=50)) == [
        "popular", "viewed-once", "visited-3-days-ago", "created-2-days-ago"]


@pytest.mark.django_db
def test_forecasts_order_by_views_then_last_visit_then_creation():
    make_comparison("v5-never-visited-new", views=5, created_days=1)
    make_comparison("v5-visited-2d", views=5, visited_days=2)
    make_comparison("v5-visited-1d", views=5, visited_days=1)
    make_comparison("v5-never-visited-old", views=5, created_days=30)
    make_comparison("v9", views=9)

    assert slugs(selectors.comparisons_for_forecasts(limit=50)) == [
        "v9", "v5-visited-1d", "v5-visited-2d", "v5-never-visited-new",
        "v5-never-visited-old"]


@pytest.mark.django_db
def test_forecasts_take_at_most_the_limit():
    for i in range(6):
        make_comparison(f"c{i}", views=10 + i)

    assert slugs(selectors.comparisons_for_forecasts(limit=3)) == ["c5", "c4", "c3"]


@pytest.mark.django_db
def test_ai_explanations_pick_ten_views_or_a_visit_in_the_last_30_days():
    make_comparison("nine-views", views=9)                        # neither
    make_comparison("ten-views", views=10)
    make_comparison("visited-29-days-ago", visited_days=29)
    make_comparison("visited-31-days-ago", visited_days=31, views=3)  # neither
    make_comparison("created-yesterday", created_days=1)          # creation does not count
    make_comparison("many", views=100, visited_days=1)

    assert slugs(selectors.comparisons_for_ai_explanations(limit=30)) == [
        "many", "ten-views", "visited-29-days-ago"]


@pytest.mark.django_db
def test_ai_explanations_order_by_views_then_last_visit_and_take_at_most_the_limit():
    make_comparison("v10-visited-5d", views=10, visited_days=5)
    make_comparison("v10-visited-1d", views=10, visited_days=1)
    make_comparison("v10-never", views=10)
    make_comparison("v0-visited-1d", visited_days=1)

    assert slugs(selectors.comparisons_for_ai_explanations(limit=30)) == [
        "v10-visited-1d", "v10-visited-5d", "v10-never", "v0-visited-1d"]
    assert slugs(selectors.comparisons_for_ai_explanations(limit=2)) == [
        "v10-visited-1d", "v10-visited-5d"]


@pytest.mark.django_db
def test_a_refreshed_forecast_is_fresh_for_7_days_then_stale_until_30(offline_llm):
    comparison = make_comparison("ttl")
    before = timezone.now()

    forecast = services.forecast_refresh(comparison=comparison)
    insight = services.insight_refresh(comparison=comparison)

    for entry in (forecast, insight):
        assert entry.fresh_until - before == pytest.approx(dt.timedelta(days=7),
                                                           abs=dt.timedelta(seconds=5))
        assert entry.stale_until - before == pytest.approx(dt.timedelta(days=30),
                                                           abs=dt.timedelta(seconds=5))
        at = entry.computed_at
        assert selectors.freshness(entry, now=at + dt.timedelta(days=6, hours=23)) == "fresh"
        assert selectors.freshness(entry, now=at + dt.timedelta(days=7, hours=1)) == "stale"
        assert selectors.freshness(entry, now=at + dt.timedelta(days=29, hours=23)) == "stale"
        assert selectors.freshness(entry, now=at + dt.timedelta(days=30, hours=1)) == "missing"
    assert selectors.freshness(None) == "missing"


@pytest.mark.django_db
def test_the_ttls_follow_the_settings(settings, offline_llm):
    settings.WARMUP_FRESH_DAYS, settings.WARMUP_STALE_DAYS = 1, 2

    entry = services.forecast_refresh(comparison=make_comparison("short"))

    assert entry.fresh_until - entry.computed_at == dt.timedelta(days=1)
    assert entry.stale_until - entry.computed_at == dt.timedelta(days=2)


@pytest.mark.django_db
def test_new_series_mean_a_new_data_hash_and_a_cache_miss(offline_llm):
    comparison = make_comparison("changing")
    services.forecast_refresh(comparison=comparison)
    services.insight_refresh(comparison=comparison)
    old_hash = comparison.data_hash
    assert not selectors.cached_pack(comparison).needs_warmup

    services.comparison_series_set(comparison=comparison, series_a=[1, 2, 3], series_b=[3, 2, 1])

    pack = selectors.cached_pack(comparison)
    assert comparison.data_hash != old_hash
    assert (pack.forecast_state, pack.insight_state) == ("missing", "missing")
    assert pack.needs_warmup


@pytest.mark.django_db
def test_the_forecast_payload_holds_both_terms_and_their_weeks(settings):
    settings.WARMUP_FORECAST_HORIZON_WEEKS = 3
    comparison = make_comparison("payload")  # series start 2025-11-24, 52 weeks

    payload = services.forecast_refresh(comparison=comparison).payload

    assert payload["method"] == "holt-linear" and payload["horizonWeeks"] == 3
    assert payload["weeks"] == ["2026-11-23", "2026-11-30", "2026-12-07"]
    assert payload["termA"]["values"] == [62.0, 63.0, 64.0]  # the rising line, continued
    assert payload["termB"]["values"] == [9.0, 8.0, 7.0]     # the falling one
    assert payload["termA"]["term"] == "payload-a" and payload["termA"]["rmse"] == 0.0
