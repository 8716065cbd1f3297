"""What every competitors job shares: its decision, its prompt, its LLM step.

A prompt is an instruction followed by the material as JSON after a marker, so
the offline provider's builders (deterministic answers made from the material)
read the same material the real model reads.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from competitors.models import Decision
from jobs.ai import llm
from jobs.aruntime import AsyncJobContext
from jobs.errors import InvalidInputError
from jobs.runtime import JobContext

MATERIAL_MARKER = "\n\nMaterial (JSON):\n"
_WORD = re.compile(r"[a-z0-9][a-z0-9'-]{2,}")
_STOP = frozenset(
    "the and for with that this from have has are was were will would should could into "
    "about your our their its not but all any can more most than then also only over "
    "news review reviews market".split()
)
_POSITIVE = ("grow", "growth", "demand", "increase", "adopt", "popular", "love", "great",
             "fast", "easy", "win", "leader", "strong", "praised", "expand")
_NEGATIVE = ("decline", "risk", "churn", "slow", "complain", "expensive", "lawsuit", "outage",
             "layoff", "drop", "hard", "confusing", "weak", "shrink", "problem", "bug")


def load_decision(ctx: JobContext) -> Decision:
    """The job's decision, in the job's organization; InvalidInputError otherwise."""
    decision_id = ctx.job.decision_id
    if decision_id is None:
        raise InvalidInputError(
            f"{ctx.job_type.name} needs a decision: send decision_id with the job"
        )
    decision = Decision.objects.filter(
        id=decision_id, organization_id=ctx.job.organization_id  # type: ignore[misc]  # None: no match
    ).first()
    if decision is None:
        raise InvalidInputError(f"Decision {decision_id} not found in this organization")
    return decision


def decision_material(decision: Decision) -> dict[str, Any]:
    return {
        "title": decision.title,
        "context": decision.context,
        "options": [o.title for o in decision.options.all()],
    }


def prompt_with(instruction: str, material: Mapping[str, Any]) -> str:
    return f"{instruction}{MATERIAL_MARKER}{json.dumps(material, indent=1, default=str)}"


def material_of(prompt: str) -> dict[str, Any]:
    """The material a prompt carries (for offline builders)."""
    _, _, tail = prompt.partition(MATERIAL_MARKER)
    try:
        data = json.loads(tail)
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


async def aask(
    ctx: AsyncJobContext,
    *,
    step: str,
    instruction: str,
    material: Mapping[str, Any],
    system: str,
    schema: Mapping[str, Any],
    purpose: str,
    offline: Callable[[str], Any],
    max_tokens: int = 1500,
    stream: bool = False,
) -> dict[str, Any]:
    """One LLM call as a durable step: a retry gets the stored answer back.

    The call awaits the provider on the async client (no thread, no connection
    held); `stream`: its text goes to the job's partial output as it is written.
    (The one form: every competitors handler is async.)"""

    async def call() -> dict[str, Any]:
        result = await llm.acomplete(
            prompt=prompt_with(instruction, material),
            system=system,
            schema=schema,
            purpose=purpose,
            job=ctx.job,
            offline=offline,
            max_tokens=max_tokens,
            on_text=ctx.partial_writer() if stream else None,
        )
        return {
            "data": result.data,
            "provider": result.provider,
            "model": result.model,
            "offline": result.offline,
        }

    return await ctx.step(step, call)  # type: ignore[no-any-return]


def row_id(job_id: Any, name: str) -> uuid.UUID:
    """A row id derived from the job: the handler knows it before the row is written."""
    return uuid.uuid5(uuid.UUID(str(job_id)), name)


# --- for offline builders: words, overlap and stance ------------------------------


def words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def overlap(query: str, text: str) -> float:
    wanted = words(query)
    if not wanted:
        return 0.0
    return round(len(wanted & words(text)) / len(wanted), 3)


def stance(text: str) -> str:
    lowered = text.lower()
    plus = sum(lowered.count(w) for w in _POSITIVE)
    minus = sum(lowered.count(w) for w in _NEGATIVE)
    if plus > minus:
        return "supports"
    if minus > plus:
        return "opposes"
    return "neutral"


def sentences(text: str, limit: int = 3) -> list[str]:
    parts = [p.strip() for p in re.split(r"(?<=[.!?])\s+|\n+", text or "") if p.strip()]
    return [p[:300] for p in parts[:limit]]


def clean_list(value: Any, limit: int = 8) -> list[str]:
    if not isinstance(value, list):
        return []
    return [str(v)[:500] for v in value if str(v).strip()][:limit]
