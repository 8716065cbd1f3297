"""market_research: search the configured sources, have the LLM assess the market,
save a MarketResearch row and its evidence items."""

from __future__ import annotations

import asyncio
from typing import Any

from rest_framework import serializers

from competitors import services, sources
from competitors.handlers import common
from competitors.offline import offline_research
from jobs import aio
from jobs.aruntime import AsyncJobContext

SYSTEM = (
    "You are a market analyst. From the decision and the findings given, assess the market: "
    "its size, its trends, and the evidence that supports or opposes the decision. Use only "
    "the material; cite a finding's url when an item comes from it."
)
INSTRUCTION = (
    "Research the market for: {query}. Answer JSON with summary, market_size, trends (list) "
    "and evidence (at most {max_items} items, each with title, summary, stance (supports, "
    "opposes or neutral), relevance (0 to 1), source_title, source_url)."
)
EVIDENCE_ITEM = {
    "type": "object",
    "required": ["title", "summary", "stance"],
    "properties": {
        "title": {"type": "string"},
        "summary": {"type": "string"},
        "stance": {"type": "string", "enum": ["supports", "opposes", "neutral"]},
        "relevance": {"type": "number", "minimum": 0, "maximum": 1},
        "source_title": {"type": "string"},
        "source_url": {"type": "string"},
    },
}
SCHEMA = {
    "type": "object",
    "required": ["summary", "trends", "evidence"],
    "properties": {
        "summary": {"type": "string"},
        "market_size": {"type": "string"},
        "trends": {"type": "array", "items": {"type": "string"}},
        "evidence": {"type": "array", "items": EVIDENCE_ITEM},
    },
}


class MarketResearchInput(serializers.Serializer):
    query = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default="",
        help_text="What to research; the decision's title when empty.",
    )
    max_items = serializers.IntegerField(min_value=1, max_value=10, default=5)


async def run(ctx: AsyncJobContext) -> dict[str, Any]:
    decision = await aio.db(common.load_decision, ctx)
    decision_material = await aio.db(common.decision_material, decision)
    query = ctx.input.get("query") or decision.title
    max_items = int(ctx.input.get("max_items", 5))

    await ctx.progress(10, "Searching market sources...")
    found = await ctx.step(
        "search-sources",
        lambda: asyncio.to_thread(sources.search_all, "search", f"{query} market"))
    await ctx.progress(40, "Researching the market...")
    answer = await common.aask(
        ctx,
        step="analyze-market",
        instruction=INSTRUCTION.format(query=query, max_items=max_items),
        material={
            "query": query,
            "max_items": max_items,
            "findings": found["findings"],
            "decision": decision_material,
        },
        system=SYSTEM,
        schema=SCHEMA,
        purpose="market-research",
        offline=offline_research,
    )
    await ctx.progress(90, "Saving evidence...")

    data = {**answer["data"], "evidence": (answer["data"].get("evidence") or [])[:max_items]}
    research_id = common.row_id(ctx.job_id, "market-research")
    decision_id, job_id = decision.id, ctx.job_id
    ctx.on_complete(
        lambda: services.market_research_save(
            research_id=research_id,
            decision_id=decision_id,
            job_id=job_id,
            query=query,
            data=data,
            sources_searched=len(found["sources"]),
            offline=answer["offline"],
        )
    )
    return {
        "market_research_id": str(research_id),
        "decision_id": str(decision_id),
        "query": query,
        "evidence_count": len(data["evidence"]),
        "notes": [found["note"], *found["errors"]],
        "offline": answer["offline"],
    }
