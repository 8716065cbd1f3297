"""Small builders for interviews and themes (plain functions, shared with the roadmap tests)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from jobs.models import Organization
from themes.models import Interview, Quote, Theme

WORDS = ["pricing", "onboarding", "exports", "search", "permissions", "notifications",
         "integrations", "billing", "dashboards", "mobile", "performance", "security"]


def interview(org: Organization, *quotes: str, days_ago: int = 3, title: str = "Call",
              transcript: str = "") -> Interview:
    made = Interview.objects.create(
        organization=org, title=title, transcript=transcript,
        interviewed_at=timezone.now().date() - dt.timedelta(days=days_ago),
    )
    Quote.objects.bulk_create([Quote(interview=made, text=text) for text in quotes])
    return made


def interviews_about(org: Organization, words: list[str], *, copies: int = 2,
                     days_ago: int = 3) -> list[Interview]:
    """`copies` interviews per word, each with a quote about it: one theme per word."""
    made = []
    for copy in range(copies):
        for word in words:
            made.append(interview(org, f"The {word} story hurts us daily (call {copy}).",
                                  days_ago=days_ago, title=f"{word} {copy}"))
    return made


def theme(org: Organization, name: str, occurrences: int, confidence: float) -> Theme:
    return Theme.objects.create(
        organization=org, name=name, slug=name.lower(), occurrences=occurrences,
        confidence_score=confidence, description=f"{name} hurts",
        last_detected_at=timezone.now(),
    )
