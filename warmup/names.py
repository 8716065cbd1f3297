"""The warmup job types and lock names (the seed's), in one place."""

from __future__ import annotations

FORECASTS = "warmup-forecasts"
AI_EXPLANATIONS = "warmup-ai-explanations"
ON_DEMAND = "warmup-on-demand"
TYPES = (FORECASTS, AI_EXPLANATIONS, ON_DEMAND)

FORECASTS_LOCK = "warmup:forecasts:lock"
AI_EXPLANATIONS_LOCK = "warmup:ai-explanations:lock"

# The shared LLM budget of the AI explanation warmups (LLM_RATE_LIMITS key).
AI_LIMITER_KEY = "warmup-ai-explanations"


def on_demand_lock(slug: str, data_hash: str) -> str:
    return f"warmup:on-demand:{slug}:{data_hash}"


def on_demand_scope(slug: str, data_hash: str) -> str:
    """The Job.scope of an on-demand warmup: one active job per comparison and data hash."""
    return f"comparison:{slug}:{data_hash}"
