"""The AI reasoning for one roadmap suggestion: its prompt and its offline answer."""

from __future__ import annotations

import re

from roadmap.models import RoadmapSuggestion

SYSTEM = (
    "You are a product manager's assistant. In two or three sentences, explain why a "
    "customer theme deserves the roadmap priority it has, citing the evidence given. "
    "Plain text, no lists."
)
MAX_QUOTES = 3
_FIELD = re.compile(r"^(?P<key>[A-Za-z ]+): (?P<value>.*)$")


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


def offline_reasoning(prompt: str) -> str:
    """A deterministic explanation built from the prompt's own facts."""
    facts = {}
    quotes = []
    for line in prompt.splitlines():
        if line.startswith("- "):
            quotes.append(line[2:])
        elif match := _FIELD.match(line):
            facts[match["key"].lower()] = match["value"].strip()
    name = facts.get("theme", "This theme")
    text = (
        f"{name} comes up in {facts.get('interviews', 'several')} recent interviews "
        f"(confidence {facts.get('confidence', 'n/a')}), a score of {facts.get('score', '0')}, "
        f"so it is {facts.get('priority', 'low')} priority."
    )
    if quotes:
        text += f" As one customer put it: \u201c{quotes[0]}\u201d"
    return text
