"""The AI insights of a comparison: the prompt, the JSON asked for, and the offline answer.

The offline builder reads the same material the prompt carries (means,
peaks, recent trend), so an offline insight says true things about the
series; it is deterministic, and marked offline wherever it is shown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


def offline_builder(comparison: Comparison) -> Callable[[str], dict[str, str]]:
    """A deterministic answer from the comparison's own numbers (the offline provider's)."""
    a = term_facts(comparison.term_a, comparison.series_a)
    b = term_facts(comparison.term_b, comparison.series_b)

    def build(_prompt: str) -> dict[str, str]:
        leader, trailer = (a, b) if a.mean >= b.mean else (b, a)
        if leader.mean == 0:
            meaning = f"Neither {a.term} nor {b.term} has drawn any search interest."
        elif trailer.mean > 0:
            meaning = (f"{leader.term} draws {leader.mean / trailer.mean:.1f} times the search "
                       f"interest of {trailer.term} on average "
                       f"({leader.mean:.1f} vs {trailer.mean:.1f} a week).")
        else:
            meaning = (f"{leader.term} draws all the search interest "
                       f"({leader.mean:.1f} a week); {trailer.term} has none.")
        moves = "; ".join(f"{f.term} {_direction(f.recent_change)} over the last 4 weeks"
                          for f in (a, b))
        return {
            "meaning_explanation": meaning,
            "peak_explanation": (
                f"{a.term} peaked at {a.peak:.0f} in week {a.peak_week} and {b.term} at "
                f"{b.peak:.0f} in week {b.peak_week}; {moves}."
            ),
        }

    return build


def _direction(change: float) -> str:
    if abs(change) < 0.05:
        return "is flat"
    return f"is {'up' if change > 0 else 'down'} {abs(change):.1f}"
