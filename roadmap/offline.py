"""The roadmap's offline (no-LLM-key) builders: a reasoning made from the prompt's own facts."""

from __future__ import annotations

import re

_FIELD = re.compile(r"^(?P<key>[A-Za-z ]+): (?P<value>.*)$")


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
