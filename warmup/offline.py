"""The warmup's offline (no-LLM-key) builders: an insight made from the comparison's numbers.

The builder reads the same material the prompt carries (means, peaks, recent
trend), so an offline insight says true things about the series; it is
deterministic, and marked offline wherever it is shown.
"""

from __future__ import annotations

from collections.abc import Callable

from warmup.insights import term_facts
from warmup.models import Comparison


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
