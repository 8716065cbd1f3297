"""Builders: an organization's recent interviews and its themes, with known scores."""

from __future__ import annotations

from jobs.models import Organization
from tests.themes.builders import interview, theme
from themes.models import Theme


def recent_interviews(org: Organization, count: int = 10) -> None:
    for n in range(count):
        interview(org, f"Quote {n}.", title=f"call {n}")


def scored_themes(org: Organization) -> dict[str, Theme]:
    """Among 10 interviews: Pricing 72 (critical), Exports 32 (high), Search 10 (medium),
    Mobile 5 (low)."""
    recent_interviews(org, 10)
    return {
        "Pricing": theme(org, "Pricing", 8, 0.9),
        "Exports": theme(org, "Exports", 4, 0.8),
        "Search": theme(org, "Search", 2, 0.5),
        "Mobile": theme(org, "Mobile", 1, 0.5),
    }
