"""evidence_search: find evidence for a question in the configured search sources and
in what was already gathered for the decision (competitor profiles, their news and
reviews, market research); the LLM judges each candidate's relevance and stance."""

from __future__ import annotations

import asyncio
from typing import Any

from rest_framework import serializers

from competitors import services, sources
from competitors.handlers import common
from competitors.models import Decision, EvidenceItem
from competitors.offline import offline_assessment
from jobs import aio
from jobs.aruntime import AsyncJobContext

SYSTEM = (
    "You judge evidence for a product decision. For each candidate that bears on the "
    "question, say whether it supports or opposes the decision, how relevant it is, and "
    "summarise it in one sentence. Leave out candidates that do not bear on it."
)
INSTRUCTION = (
    "Question: {query}. Answer JSON with items: at most {limit} of the candidates, each "
    "with candidate (its index), summary, stance (supports, opposes or neutral), relevance (0-1)."
)
SCHEMA = {
    "type": "object",
    "required": ["items"],
    "properties": {
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["candidate", "summary", "stance", "relevance"],
                "properties": {
                    "candidate": {"type": "integer", "minimum": 0},
                    "summary": {"type": "string"},
                    "stance": {"type": "string", "enum": ["supports", "opposes", "neutral"]},
                    "relevance": {"type": "number", "minimum": 0, "maximum": 1},
                },
            },
        }
    },
}


class EvidenceSearchInput(serializers.Serializer):
    query = serializers.CharField(min_length=3, max_length=300)
    max_results = serializers.IntegerField(min_value=1, max_value=10, default=5)


def gathered_material(decision: Decision, query: str, limit: int) -> list[dict[str, Any]]:
    """Candidates from the decision's own material that share words with the query."""
    candidates: list[dict[str, Any]] = []
    for profile in decision.competitor_profiles.all()[:20]:
        source = f"Competitor profile: {profile.company_name}"
        candidates.append({"title": f"{profile.company_name}: profile", "snippet": profile.summary,
                           "url": profile.company_url, "source": source})
        for label, items in (("strength", profile.strengths), ("weakness", profile.weaknesses)):
            candidates += [{"title": f"{profile.company_name} {label}: {text}"[:300],
                            "snippet": text, "url": profile.company_url, "source": source}
                           for text in items]
        for finding in [*profile.recent_news, *profile.review_highlights]:
            candidates.append({"title": finding.get("title", ""),
                               "snippet": finding.get("snippet", ""),
                               "url": finding.get("url", ""), "source": source})
    for research in decision.market_research.all()[:10]:
        candidates.append({"title": f"Market research: {research.query}",
                           "snippet": research.summary, "url": "", "source": "Market research"})
        candidates += [{"title": trend, "snippet": trend, "url": "", "source": "Market research"}
                       for trend in research.trends]
    scored = [(common.overlap(query, f"{c['title']} {c['snippet']}"), i, c)
              for i, c in enumerate(candidates) if c["title"]]
    scored = [s for s in scored if s[0] > 0]
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [c for _, _, c in scored[:limit]]


async def run(ctx: AsyncJobContext) -> dict[str, Any]:
    decision = await aio.db(common.load_decision, ctx)
    decision_material = await aio.db(common.decision_material, decision)
    query = ctx.input["query"]
    limit = int(ctx.input.get("max_results", 5))

    await ctx.progress(10, "Searching for evidence...")
    found = await ctx.step(
        "search-sources", lambda: asyncio.to_thread(sources.search_all, "search", query))
    await ctx.progress(30, "Searching the decision's material...")
    own = await ctx.step(
        "search-decision", lambda: aio.db(gathered_material, decision, query, limit * 2))
    candidates = [
        {"title": f["title"], "snippet": f.get("snippet", ""), "url": f.get("url", ""),
         "source": f.get("source", "")}
        for f in found["findings"]
    ] + own

    items: list[dict[str, Any]] = []
    offline = False
    if candidates:
        await ctx.progress(50, "Assessing relevance...")
        answer = await common.aask(
            ctx,
            step="assess-evidence",
            instruction=INSTRUCTION.format(query=query, limit=limit),
            material={"query": query, "limit": limit,
                      "candidates": [{"index": i, **c} for i, c in enumerate(candidates)],
                      "decision": decision_material},
            system=SYSTEM,
            schema=SCHEMA,
            purpose="evidence-assessment",
            offline=offline_assessment,
        )
        offline = answer["offline"]
        for judged in answer["data"].get("items", [])[:limit]:
            index = judged.get("candidate")
            if not isinstance(index, int) or not 0 <= index < len(candidates):
                continue  # the model pointed at a candidate that does not exist
            candidate = candidates[index]
            items.append({
                "title": candidate["title"],
                "summary": judged.get("summary") or candidate["snippet"],
                "stance": judged.get("stance", "neutral"),
                "relevance": judged.get("relevance", 0.5),
                "source_title": candidate["source"],
                "source_url": candidate["url"],
            })
    await ctx.progress(90, "Saving evidence...")

    decision_id, job_id = decision.id, ctx.job_id
    ctx.on_complete(
        lambda: services.evidence_items_save(
            decision_id=decision_id, job_id=job_id, origin=EvidenceItem.Origin.EVIDENCE_SEARCH,
            query=query, items=items, offline=offline,
        )
    )
    return {
        "decision_id": str(decision_id),
        "query": query,
        "evidence_count": len(items),
        "candidates": len(candidates),
        "notes": [found["note"], *found["errors"]]
        + ([] if candidates else ["Nothing found for this query"]),
        "offline": offline,
    }
