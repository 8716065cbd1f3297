"""A theme's roadmap score, in plain code: reach x confidence x recency, 0-100.

- reach: the share of the organization's recent interviews (the last
  `WINDOW_DAYS`) that mention the theme (its occurrences), at most 1;
- confidence: the scanner's confidence in the theme, 0-1;
- recency: halves every `HALF_LIFE_DAYS` since the newest interview that
  mentions it (or since a scan last found it, for a theme with no evidence).

The priority level follows the score by `THRESHOLDS`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from roadmap.models import Priority

WINDOW_DAYS = 90
HALF_LIFE_DAYS = 30.0
THRESHOLDS: tuple[tuple[float, str], ...] = (
    (35.0, Priority.CRITICAL),
    (20.0, Priority.HIGH),
    (8.0, Priority.MEDIUM),
)


@dataclass(frozen=True)
class ThemeFacts:
    occurrences: int
    confidence: float
    last_seen: dt.date | None


def recency(last_seen: dt.date | None, *, today: dt.date) -> float:
    if last_seen is None:
        return 1.0
    age = max(0, (today - last_seen).days)
    return float(0.5 ** (age / HALF_LIFE_DAYS))


def theme_score(facts: ThemeFacts, *, interviews: int, today: dt.date) -> float:
    """The score of one theme among `interviews` recent interviews of its organization."""
    reach = min(1.0, facts.occurrences / max(1, interviews))
    confidence = min(1.0, max(0.0, facts.confidence))
    return round(100.0 * reach * confidence * recency(facts.last_seen, today=today), 1)


def priority_for(score: float) -> str:
    for threshold, level in THRESHOLDS:
        if score >= threshold:
            return level
    return Priority.LOW
