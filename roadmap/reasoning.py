"""The AI reasoning for one roadmap suggestion: its prompt (its offline answer: roadmap.offline)."""

from __future__ import annotations

from roadmap.models import RoadmapSuggestion

SYSTEM = (
    "You are a product manager's assistant. In two or three sentences, explain why a "
    "customer theme deserves the roadmap priority it has, citing the evidence given. "
    "Plain text, no lists."
)
MAX_QUOTES = 3


def build_prompt(suggestion: RoadmapSuggestion, *, interviews: int) -> str:
    theme = suggestion.theme
    quotes = [
        e.quote.text for e in theme.evidence.select_related("quote").order_by("id")
        if e.quote is not None
    ][:MAX_QUOTES]
    lines = [
        f"Theme: {theme.name}",
        f"Description: {' '.join(theme.description.split())}",
        f"Interviews: {theme.occurrences} of {interviews}",
        f"Confidence: {theme.confidence_score:.2f}",
        f"Score: {suggestion.score:g}",
        f"Priority: {suggestion.effective_priority}",
        "Quotes:",
        *[f"- {' '.join(q.split())[:300]}" for q in quotes],
    ]
    return "\n".join(lines)
