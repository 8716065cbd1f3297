"""brief_generation: synthesize everything gathered for a decision into a brief (an
Output with content, in Markdown)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from competitors import services
from competitors.handlers import common
from competitors.models import Decision
from competitors.offline import offline_brief
from jobs import aio
from jobs.aruntime import AsyncJobContext

SYSTEM = (
    "You write decision briefs for product teams: short, concrete, neutral. Use only the "
    "material given (options and their analyses, competitor profiles, market research, "
    "evidence). End with a recommendation and what would change it."
)
INSTRUCTION = (
    "Write the decision brief{audience}{focus}. Answer JSON with title, summary, sections "
    "(a list of {{heading, body}}) and recommendation."
)
SCHEMA = {
    "type": "object",
    "required": ["title", "summary", "sections", "recommendation"],
    "properties": {
        "title": {"type": "string"},
        "summary": {"type": "string"},
        "sections": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["heading", "body"],
                "properties": {"heading": {"type": "string"}, "body": {"type": "string"}},
            },
        },
        "recommendation": {"type": "string"},
    },
}


class BriefGenerationInput(serializers.Serializer):
    audience = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    focus = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


def snapshot(decision: Decision) -> dict[str, Any]:
    """What the brief draws on, read once (a durable step: a retry reads the same)."""
    return {
        "decision": {"title": decision.title, "context": decision.context},
        "options": [
            {"title": o.title, "description": o.description, "analysis": o.ai_analysis}
            for o in decision.options.all()
        ],
        "competitors": [
            {"name": p.company_name, "summary": p.summary, "strengths": p.strengths,
             "weaknesses": p.weaknesses, "threat_level": p.threat_level}
            for p in decision.competitor_profiles.all()[:10]
        ],
        "market_research": [
            {"query": r.query, "summary": r.summary, "trends": r.trends}
            for r in decision.market_research.all()[:5]
        ],
        "evidence": [
            {"title": e.title, "summary": e.summary, "stance": e.stance}
            for e in decision.evidence_items.order_by("-relevance", "-created_at")[:20]
        ],
    }


async def run(ctx: AsyncJobContext) -> dict[str, Any]:
    decision = await aio.db(common.load_decision, ctx)
    audience = ctx.input.get("audience") or ""
    focus = ctx.input.get("focus") or ""

    await ctx.progress(10, "Gathering decision data...")
    material = await ctx.step("gather-data", lambda: aio.db(snapshot, decision))
    await ctx.progress(40, "Synthesizing decision data...")
    answer = await common.aask(
        ctx,
        step="write-brief",
        instruction=INSTRUCTION.format(
            audience=f" for {audience}" if audience else "",
            focus=f", focused on {focus}" if focus else "",
        ),
        material=material,
        system=SYSTEM,
        schema=SCHEMA,
        purpose="decision-brief",
        offline=offline_brief,
        max_tokens=2500,
        stream=True,  # the brief's text (JSON) grows in the job's partial output
    )
    await ctx.progress(90, "Saving brief...")

    brief = answer["data"]
    content = to_markdown(brief)
    output_id = common.row_id(ctx.job_id, "brief")
    decision_id, job_id = decision.id, ctx.job_id
    ctx.on_complete(
        lambda: services.output_save(
            output_id=output_id,
            decision_id=decision_id,
            job_id=job_id,
            title=str(brief.get("title") or f"Brief: {decision.title}"),
            content=content,
            provider=answer["provider"],
            model=answer["model"],
            offline=answer["offline"],
        )
    )
    return {
        "output_id": str(output_id),
        "decision_id": str(decision_id),
        "title": brief.get("title"),
        "content": content,
        "offline": answer["offline"],
    }


def to_markdown(brief: dict[str, Any]) -> str:
    lines = [f"# {brief.get('title', 'Decision brief')}", "", str(brief.get("summary", ""))]
    for section in brief.get("sections") or []:
        lines += ["", f"## {section.get('heading', '')}", "", str(section.get("body", ""))]
    lines += ["", "## Recommendation", "", str(brief.get("recommendation", ""))]
    return "\n".join(lines).strip() + "\n"
