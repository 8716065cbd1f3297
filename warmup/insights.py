"""The AI insights of a comparison: the prompt and the JSON asked for.

The offline answer (warmup.offline) reads the same material the prompt carries (means,
peaks, recent trend), so an offline insight says true things about the
series; it is deterministic, and marked offline wherever it is shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from warmup.models import Comparison

SYSTEM = (
    "You explain search-interest comparisons to product people. Be concrete, cite the "
    "numbers you are given, and do not invent events you were not told about."
)

SCHEMA = {
    "type": "object",
    "properties": {
        "meaning_explanation": {"type": "string", "minLength": 1},
        "peak_explanation": {"type": "string", "minLength": 1},
    },
    "required": ["meaning_explanation", "peak_explanation"],
}


@dataclass(frozen=True)
class TermFacts:
    term: str
    mean: float
    peak: float
    peak_week: int  # 1-based
    recent_change: float  # mean of the last 4 weeks minus the 4 before


def term_facts(term: str, series: Sequence[float]) -> TermFacts:
    values = [float(v) for v in series]
    if not values:
        return TermFacts(term, 0.0, 0.0, 0, 0.0)
    peak_index = max(range(len(values)), key=values.__getitem__)
    recent, before = values[-4:], values[-8:-4] or values[:1]
    return TermFacts(
        term=term,
        mean=sum(values) / len(values),
        peak=values[peak_index],
        peak_week=peak_index + 1,
        recent_change=sum(recent) / len(recent) - sum(before) / len(before),
    )


def prompt(comparison: Comparison) -> str:
    a = term_facts(comparison.term_a, comparison.series_a)
    b = term_facts(comparison.term_b, comparison.series_b)
    weeks = len(comparison.series_a)
    lines = [
        f"Comparison: '{a.term}' vs '{b.term}', {weeks} weeks of weekly search interest.",
        *(f"- {f.term}: mean {f.mean:.1f}, peak {f.peak:.0f} in week {f.peak_week}, "
          f"last 4 weeks {f.recent_change:+.1f} against the 4 before." for f in (a, b)),
        "Give meaning_explanation (what the comparison says overall) and "
        "peak_explanation (what the peaks and recent moves mean), two or three sentences each.",
    ]
    return "\n".join(lines)
