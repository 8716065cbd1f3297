"""option_analysis: the LLM's assessment of one option of a decision, saved on the option."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from competitors import services
from competitors.handlers import common
from competitors.models import Decision, Option
from competitors.offline import offline_analysis
from jobs import aio
from jobs.aruntime import AsyncJobContext
from jobs.errors import InvalidInputError

SYSTEM = (
    "You assess one option of a product decision against the decision's context, the other "
    "options, and what is known about competitors. Be specific and brief."
)
INSTRUCTION = (
    "Analyse the option '{title}'. Answer JSON with summary, pros (list), cons (list), "
    "risks (list), score (0 to 10) and recommendation (pursue, consider or avoid)."
)
SCHEMA = {
    "type": "object",
    "required": ["summary", "pros", "cons", "score", "recommendation"],
    "properties": {
        "summary": {"type": "string"},
        "pros": {"type": "array", "items": {"type": "string"}},
        "cons": {"type": "array", "items": {"type": "string"}},
        "risks": {"type": "array", "items": {"type": "string"}},
        "score": {"type": "integer", "minimum": 0, "maximum": 10},
        "recommendation": {"type": "string", "enum": ["pursue", "consider", "avoid"]},
    },
}


class OptionAnalysisInput(serializers.Serializer):
    option_id = serializers.UUIDField()


def _load(ctx: AsyncJobContext) -> tuple[Decision, Option, dict[str, Any]]:
    """The decision, the option and the material the model reads (database reads)."""
    decision = common.load_decision(ctx)
    option = Option.objects.filter(id=ctx.input["option_id"], decision=decision).first()
    if option is None:
        raise InvalidInputError(
            f"Option {ctx.input['option_id']} is not an option of this decision"
        )
    material = {
        "option": {"title": option.title, "description": option.description},
        "other_options": [o.title for o in decision.options.exclude(id=option.id)],
        "decision": common.decision_material(decision),
        "competitors": [
            {"name": p.company_name, "strengths": p.strengths, "weaknesses": p.weaknesses}
            for p in decision.competitor_profiles.all()[:5]
        ],
    }
    return decision, option, material


async def run(ctx: AsyncJobContext) -> dict[str, Any]:
    decision, option, material = await aio.db(_load, ctx)
    await ctx.progress(10, "Loading option...")
    await ctx.progress(30, "Analyzing option...")
    answer = await common.aask(
        ctx,
        step="analyze-option",
        instruction=INSTRUCTION.format(title=option.title),
        material=material,
        system=SYSTEM,
        schema=SCHEMA,
        purpose="option-analysis",
        offline=offline_analysis,
    )
    await ctx.progress(90, "Saving analysis...")

    data = answer["data"]
    analysis = {
        "summary": str(data.get("summary", "")),
        "pros": common.clean_list(data.get("pros")),
        "cons": common.clean_list(data.get("cons")),
        "risks": common.clean_list(data.get("risks")),
        "score": int(data.get("score", 0)),
        "recommendation": data.get("recommendation"),
        "provider": answer["provider"],
        "model": answer["model"],
        "offline": answer["offline"],
    }
    option_id, job_id = option.id, ctx.job_id
    ctx.on_complete(
        lambda: services.option_analysis_save(option_id=option_id, job_id=job_id,
                                              analysis=analysis)
    )
    return {
        "option_id": str(option_id),
        "decision_id": str(decision.id),
        "option_title": option.title,
        "analysis": analysis,
        "offline": answer["offline"],
    }
