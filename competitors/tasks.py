"""The async-jobs seed's five job types, registered with the job platform.

Started with `POST /api/jobs {type, decision_id, input}`. Poll interval and
maximum duration come from settings (COMPETITORS_JOB_TYPES, the seed's table)
when asked, so they can be tuned per deployment (and per test).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ValidationError

from competitors.handlers import (
    brief_generation,
    competitor_analysis,
    evidence_search,
    market_research,
    option_analysis,
)
from competitors.models import Decision
from jobs.registry import JobType, register


@dataclass(frozen=True)
class DecisionJobType(JobType):
    """A job type whose poll interval and maximum duration are read from settings."""

    def validate_scope(self, *, organization: Any, decision_id: Any) -> None:
        if decision_id is None:
            raise ValidationError({"decision_id": [f"{self.name} needs a decision_id."]})
        if not Decision.objects.filter(id=decision_id, organization=organization).exists():
            raise ValidationError(
                {"decision_id": [f"Decision {decision_id} not found in this organization."]}
            )

    @property
    def poll_interval(self) -> int:
        return int(settings.COMPETITORS_JOB_TYPES[self.name]["poll_interval_ms"])

    @property
    def max_duration(self) -> int:
        return int(settings.COMPETITORS_JOB_TYPES[self.name]["max_duration_seconds"])


def _typical(name: str) -> str:
    return str(settings.COMPETITORS_JOB_TYPES[name]["typical_duration"])


COMPETITOR_ANALYSIS = register(DecisionJobType(
    name="competitor_analysis",
    handler=competitor_analysis.run,
    title="Competitor analysis",
    description="Scrape a competitor's website, search news and reviews, and write its "
    "profile for a decision.",
    input_serializer=competitor_analysis.CompetitorAnalysisInput,
    max_retries=3,
    typical_duration=_typical("competitor_analysis"),
    extra={"modal_title": "Analyzing Competitor", "icon": "🔍"},
))

MARKET_RESEARCH = register(DecisionJobType(
    name="market_research",
    handler=market_research.run,
    title="Market research",
    description="Search market sources and record evidence items for a decision.",
    input_serializer=market_research.MarketResearchInput,
    max_retries=3,
    typical_duration=_typical("market_research"),
    extra={"modal_title": "Researching the Market", "icon": "📈"},
))

BRIEF_GENERATION = register(DecisionJobType(
    name="brief_generation",
    handler=brief_generation.run,
    title="Brief generation",
    description="Write a brief from everything gathered for a decision.",
    input_serializer=brief_generation.BriefGenerationInput,
    max_retries=3,
    typical_duration=_typical("brief_generation"),
    extra={"modal_title": "Generating Brief", "icon": "📝"},
))

OPTION_ANALYSIS = register(DecisionJobType(
    name="option_analysis",
    handler=option_analysis.run,
    title="Option analysis",
    description="Assess one option of a decision: pros, cons, risks and a score.",
    input_serializer=option_analysis.OptionAnalysisInput,
    max_retries=3,
    typical_duration=_typical("option_analysis"),
    # Two analyses of one option would race to write it: one at a time.
    lock=lambda input, scope: f"competitors:option:{input.get('option_id')}",
    extra={"modal_title": "Analyzing Option", "icon": "⚖️"},
))

EVIDENCE_SEARCH = register(DecisionJobType(
    name="evidence_search",
    handler=evidence_search.run,
    title="Evidence search",
    description="Find evidence for a question in search sources and the decision's material.",
    input_serializer=evidence_search.EvidenceSearchInput,
    max_retries=3,
    typical_duration=_typical("evidence_search"),
    extra={"modal_title": "Searching for Evidence", "icon": "🔎"},
))

DECISION_JOB_TYPES = (COMPETITOR_ANALYSIS, MARKET_RESEARCH, BRIEF_GENERATION, OPTION_ANALYSIS,
                      EVIDENCE_SEARCH)
