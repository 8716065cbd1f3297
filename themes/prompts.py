"""What the scanner asks the LLM: the prompt, its evidence-line format, and the answer's schema."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from themes.models import Interview

# Interviews with no quotes contribute sentences of their transcript instead.
TRANSCRIPT_SENTENCES = 12
MAX_QUOTES_PER_INTERVIEW = 30
MAX_LINE_CHARS = 600

# One line per piece of evidence: `- [<interview uuid>|<quote id or ->] text`.
EVIDENCE_LINE = re.compile(
    r"^- \[(?P<interview>[0-9a-f]{8}-[0-9a-f-]{27})\|(?P<quote>\d+|-)\] (?P<text>.*)$"
)

SYSTEM = (
    "You analyse customer interviews and find recurring themes: a theme is a need, "
    "problem or wish that comes up in at least two different interviews. For each theme "
    "give a short name (2-5 words), a one-sentence description, a confidence score "
    "between 0 and 1, and its evidence: the [interview|quote] ids of the lines that show "
    "it, exactly as given (quote id null for a line marked '-'). Do not invent ids."
)

THEMES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "themes": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 200},
                    "description": {"type": "string"},
                    "confidence_score": {"type": "number", "minimum": 0, "maximum": 1},
                    "evidence": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "interview_id": {"type": "string"},
                                "quote_id": {"type": ["integer", "null"]},
                            },
                            "required": ["interview_id"],
                        },
                    },
                },
                "required": ["name", "confidence_score", "evidence"],
            },
        }
    },
    "required": ["themes"],
}

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _one_line(text: str) -> str:
    return " ".join(text.split())[:MAX_LINE_CHARS]


def evidence_lines(interview: Interview) -> Iterable[str]:
    quotes = list(interview.quotes.all())[:MAX_QUOTES_PER_INTERVIEW]
    if quotes:
        for quote in quotes:
            yield f"- [{interview.id}|{quote.id}] {_one_line(quote.text)}"
        return
    sentences = [s for s in _SENTENCE.split(interview.transcript.strip()) if s.strip()]
    for sentence in sentences[:TRANSCRIPT_SENTENCES]:
        yield f"- [{interview.id}|-] {_one_line(sentence)}"


def build_prompt(interviews: Iterable[Interview]) -> str:
    lines = ["Customer interviews, one line per quote:"]
    for interview in interviews:
        lines.append(f"## {_one_line(interview.title)} ({interview.interviewed_at.isoformat()})")
        lines.extend(evidence_lines(interview))
    lines.append("Return the recurring themes as JSON: {\"themes\": [...]}.")
    return "\n".join(lines)
