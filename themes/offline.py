"""The offline theme extractor: quotes clustered into themes by shared keywords.

Used by the offline LLM provider (no API key configured). It reads only the
prompt's material (the `- [interview|quote] text` lines `themes.prompts`
writes), so the same interviews always give the same themes:

1. each quote's content words are reduced to a crude stem (`exports`,
   `exporting` -> `export`);
2. a stem is a candidate when it occurs in at least two interviews; one that
   is in every distinct quote ("story" in "the X story"), or that spans
   quotes other candidates split into separate topics (a hub), is left out;
3. candidates rank by how many distinct quote texts use them, then how many
   interviews, then length; each quote joins its best-ranked candidate, so a quote is
   evidence for one theme;
4. a candidate that ends up with quotes from at least two interviews is a
   theme, named by its commonest (then shortest) spelling, with a confidence that grows with
   the share of interviews that mention it.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from themes.prompts import EVIDENCE_LINE

_WORD = re.compile(r"[a-z][a-z'-]*[a-z]")
MIN_WORD_LENGTH = 4
# Common English and interview filler words: never a theme on their own.
STOP_WORDS = frozenset(
    """
    about above after again ask asked asking against almost also always among another
    anyone anything around away back because been before being below best better between both came
    cannot could does doing done down during each easy else enough even ever every
    everyone everything feel feels felt find first from full gave gets getting give
    going gone good great half hard have having here into just keep kind know last
    less like little long look lots made make makes many maybe more most much must
    need needs never next nice nothing often only other ours over part pretty quite
    rather really right said same seem seems should show since some something still
    such sure take takes tell than thank thanks that their them then there these they
    thing things think this those though through time times today together told took
    tried trying very want wanted wants week weeks well went were what when where
    which while whole will wish with within without work works would yeah year years
    your yours
    """.split()
)


@dataclass(frozen=True)
class _Quote:
    interview: str
    quote: int | None
    text: str
    stems: frozenset[str]


def stem(word: str) -> str:
    """A crude English stem: enough to put `export`, `exports` and `exporting` together."""
    word = word.strip("'-")
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 5 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 6 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 5 and word.endswith("ed") and not word.endswith("eed"):
        return word[:-2]
    if len(word) > 4 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _words(text: str) -> list[str]:
    return [
        w for w in _WORD.findall(text.lower()) if len(w) >= MIN_WORD_LENGTH and w not in STOP_WORDS
    ]


def _parse(prompt: str) -> tuple[list[_Quote], dict[str, Counter[str]]]:
    quotes: list[_Quote] = []
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    for line in prompt.splitlines():
        match = EVIDENCE_LINE.match(line.strip())
        if match is None:
            continue
        text = match["text"].strip()
        stems = set()
        for word in _words(text):
            stems.add(stem(word))
            spellings[stem(word)][word] += 1
        quote_id = None if match["quote"] == "-" else int(match["quote"])
        quotes.append(_Quote(match["interview"], quote_id, text, frozenset(stems)))
    return quotes, spellings


HUB_CHECK_LIMIT = 60


def _hubs(ranked: list[str], texts_by_stem: dict[str, set[str]]) -> set[str]:
    """Words that span topics other words keep apart.

    A word is a hub when two other candidates each group at least two of its
    distinct quotes and share none of them: "story" in "the pricing story"
    and "the onboarding story" spans two topics and is no topic itself.
    Checked for the best-ranked words only (they are the ones that would
    take quotes), so the cost stays small on a big prompt.
    """
    top = ranked[:HUB_CHECK_LIMIT]
    hubs = set()
    for word in top:
        own = texts_by_stem[word]
        parts = []
        for other in top:
            if other == word:
                continue
            part = texts_by_stem[other] & own
            if 2 <= len(part) < len(own):
                parts.append(part)
        if any(a.isdisjoint(b) for i, a in enumerate(parts) for b in parts[i + 1:]):
            hubs.add(word)
    return hubs


def offline_themes(prompt: str) -> dict[str, Any]:
    """Themes, each with its evidence, from the quotes in `prompt` (see the module doc)."""
    quotes, spellings = _parse(prompt)
    all_interviews = {q.interview for q in quotes}
    texts_by_stem: dict[str, set[str]] = defaultdict(set)
    interviews_by_stem: dict[str, set[str]] = defaultdict(set)
    for q in quotes:
        for s in q.stems:
            texts_by_stem[s].add(q.text.lower())
            interviews_by_stem[s].add(q.interview)
    distinct_texts = len({q.text.lower() for q in quotes})

    candidates = [s for s in texts_by_stem if len(interviews_by_stem[s]) >= 2]
    # A word in every distinct quote ("the X story") tells them apart not at all:
    # left out while any other word can group them.
    universal = {s for s in candidates if distinct_texts >= 2
                 and len(texts_by_stem[s]) == distinct_texts}
    if len(universal) < len(candidates):
        candidates = [s for s in candidates if s not in universal]
    ranked = sorted(
        candidates,
        # Ties go to the longer (more specific) word.
        key=lambda s: (
            -len(texts_by_stem[s]), -len(interviews_by_stem[s]), -max(map(len, spellings[s])), s
        ),
    )
    hubs = _hubs(ranked, texts_by_stem)
    ranked = [s for s in ranked if s not in hubs]
    rank = {s: i for i, s in enumerate(ranked)}
    clusters: dict[str, list[_Quote]] = defaultdict(list)
    for q in quotes:
        best = min((s for s in q.stems if s in rank), key=rank.__getitem__, default=None)
        if best is not None:
            clusters[best].append(q)

    themes: list[dict[str, Any]] = []
    for s in ranked:
        members = clusters.get(s, [])
        interviews = {q.interview for q in members}
        if len(interviews) < 2:
            continue
        # The stem itself when people use it ("export"), else the commonest spelling.
        word = s if s in spellings[s] else max(
            spellings[s], key=lambda w: (spellings[s][w], -len(w), w)
        )
        share = len(interviews) / max(1, len(all_interviews))
        themes.append(
            {
                "name": word.replace("-", " ").title(),
                "description": (
                    f"{len(interviews)} of {len(all_interviews)} interviews mention {word}, "
                    f"e.g. \u201c{members[0].text[:200]}\u201d"
                ),
                "confidence_score": round(min(0.95, 0.5 + 0.45 * share), 2),
                "evidence": [
                    {"interview_id": q.interview, "quote_id": q.quote} for q in members
                ],
            }
        )
    themes.sort(key=lambda t: (-len({e["interview_id"] for e in t["evidence"]}), t["name"]))
    return {"themes": themes}
