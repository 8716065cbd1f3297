"""Scores from occurrences, confidence and recency, with worked-out answers.

score = 100 x reach (occurrences / recent interviews, at most 1)
            x confidence (0-1)
            x recency (0.5 ** (days since the newest evidence / HALF_LIFE_DAYS))
"""

from __future__ import annotations

import datetime as dt

import pytest

from roadmap import scoring
from roadmap.generation import suggestions_score
from roadmap.models import Priority
from tests.themes.builders import interview, theme
from themes.models import ThemeEvidence

TODAY = dt.date(2025, 6, 30)


def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


def test_recency_halves_every_thirty_days():
    assert scoring.HALF_LIFE_DAYS == 30.0
    assert scoring.recency(TODAY, today=TODAY) == 1.0
    assert scoring.recency(days_ago(30), today=TODAY) == pytest.approx(0.5)
    assert scoring.recency(days_ago(60), today=TODAY) == pytest.approx(0.25)
    assert scoring.recency(days_ago(15), today=TODAY) == pytest.approx(2 ** -0.5)
    # never seen, or dated in the future: no penalty
    assert scoring.recency(None, today=TODAY) == 1.0
    assert scoring.recency(TODAY + dt.timedelta(days=5), today=TODAY) == 1.0


def test_a_theme_last_seen_sixty_days_ago_scores_a_quarter_and_drops_from_critical_to_medium():
    recent = scoring.ThemeFacts(occurrences=8, confidence=0.9, last_seen=TODAY)
    stale = scoring.ThemeFacts(occurrences=8, confidence=0.9, last_seen=days_ago(60))

    # 100 x 8/10 x 0.9 x 1 = 72; x 0.25 = 18
    assert scoring.theme_score(recent, interviews=10, today=TODAY) == 72.0
    assert scoring.theme_score(stale, interviews=10, today=TODAY) == 18.0
    assert scoring.priority_for(72.0) == Priority.CRITICAL
    assert scoring.priority_for(18.0) == Priority.MEDIUM
    # 30 days: 72 x 0.5 = 36, still critical (>= 35)
    month_old = scoring.ThemeFacts(occurrences=8, confidence=0.9, last_seen=days_ago(30))
    assert scoring.theme_score(month_old, interviews=10, today=TODAY) == 36.0


def test_reach_and_confidence_are_bounded_and_the_thresholds_hold():
    facts = scoring.ThemeFacts(occurrences=12, confidence=1.4, last_seen=TODAY)
    assert scoring.theme_score(facts, interviews=10, today=TODAY) == 100.0
    none = scoring.ThemeFacts(occurrences=3, confidence=-0.2, last_seen=TODAY)
    assert scoring.theme_score(none, interviews=10, today=TODAY) == 0.0
    # 4 of 10 at 0.5: 20 (high); 2 of 10 at 0.4: 8 (medium); 1 of 10 at 0.7: 7 (low)
    for occurrences, confidence, score, level in [
        (4, 0.5, 20.0, Priority.HIGH), (2, 0.4, 8.0, Priority.MEDIUM),
        (1, 0.7, 7.0, Priority.LOW), (7, 0.5, 35.0, Priority.CRITICAL),
    ]:
        got = scoring.theme_score(scoring.ThemeFacts(occurrences, confidence, TODAY),
                                  interviews=10, today=TODAY)
        assert (got, scoring.priority_for(got)) == (score, level)


@pytest.mark.django_db
def test_regeneration_dates_a_theme_by_its_newest_evidence_not_by_when_a_scan_found_it(
    org, project
):
    fresh_calls = [interview(org, f"Fresh {n}.", days_ago=0) for n in range(8)]
    stale_calls = [interview(org, f"Stale {n}.", days_ago=60) for n in range(8)]
    # Identical themes, both found by a scan just now (last_detected_at = now).
    fresh = theme(org, "Fresh", 8, 0.9)
    stale = theme(org, "Stale", 8, 0.9)
    for t, calls in ((fresh, fresh_calls), (stale, stale_calls)):
        ThemeEvidence.objects.bulk_create(
            [ThemeEvidence(theme=t, interview=i, quote=i.quotes.get()) for i in calls])

    result = suggestions_score(project=project)

    # 16 interviews in the 90-day window: reach 8/16, so 100 x 0.5 x 0.9 = 45
    assert result["interviews"] == 16
    by_theme = {s.theme.name: s for s in project.suggestions.select_related("theme")}
    assert by_theme["Fresh"].score == 45.0
    assert by_theme["Fresh"].priority_level == Priority.CRITICAL
    # 60 days old: 45 x 0.25 = 11.25
    assert by_theme["Stale"].score == pytest.approx(11.25, abs=0.051)
    assert by_theme["Stale"].priority_level == Priority.MEDIUM
    assert result["newly_critical"] == [by_theme["Fresh"].id]
