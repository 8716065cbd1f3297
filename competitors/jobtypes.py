"""The async-jobs seed's five job types, registered with the job platform
(imported by CompetitorsConfig.ready(); the handlers live in handlers/).

Started with `POST /api/jobs {type, decision_id, input}`. Poll interval and
maximum duration come from settings (COMPETITORS_JOB_TYPES, the seed's table)
when asked, so they can be tuned per deployment (and per test).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.urls import reverse

from competitors.handlers import (
    brief_generation,
    competitor_analysis,
    evidence_search,
    market_research,
    option_analysis,
)
from competitors.models import Decision, Option
from jobs.errors import InvalidJobScope
from jobs.registry import JobType, register


@dataclass(frozen=True)
class DecisionJobType(JobType):
    """A job type whose poll interval and maximum duration are read from settings."""

    def validate_scope(
        self, *, organization: Any, decision_id: Any, input: Mapping[str, Any]
    ) -> None:
        if decision_id is None:
            raise InvalidJobScope({"decision_id": [f"{self.name} needs a decision_id."]})
        if not Decision.objects.filter(id=decision_id, organization=organization).exists():
            raise InvalidJobScope(
                {"decision_id": [f"Decision {decision_id} not found in this organization."]}
            )

    @property
    def poll_interval(self) -> int:
        return int(settings.COMPETITORS_JOB_TYPES[self.name]["poll_interval_ms"])

    @property
    def max_duration(self) -> int:
        return int(settings.COMPETITORS_JOB_TYPES[self.name]["max_duration_seconds"])


@dataclass(frozen=True)
class OptionAnalysisJobType(DecisionJobType):
    """option_analysis: the option must be one of the job's decision's (seed 001), so
    another decision's option is a 400 at creation, not a job failing in the worker."""

    def validate_scope(
        self, *, organization: Any, decision_id: Any, input: Mapping[str, Any]
    ) -> None:
        super().validate_scope(organization=organization, decision_id=decision_id, input=input)
        option_id = str(input["option_id"])  # required by OptionAnalysisInput
        if not Option.objects.filter(id=option_id, decision_id=decision_id).exists():
            raise InvalidJobScope(
                {"input": {"option_id": [f"Option {option_id} is not an option of this decision."]}}
            )


def decision_link(job: Any) -> str | None:
    """A decision job is followed on its decision's page."""
    if job.decision_id is None:
        return None
    return reverse("decision-page", args=[job.decision_id])


def _typical(name: str) -> str:
    return str(settings.COMPETITORS_JOB_TYPES[name]["typical_duration"])


def _register(name: str, handler: Any, title: str, description: str, input_serializer: Any,
              *, modal_title: str, icon: str, kind: type[DecisionJobType] = DecisionJobType,
              **options: Any) -> DecisionJobType:
    """A decision job type: three retries, its typical duration from the seed's table."""
    return register(kind(
        name=name, handler=handler, title=title, description=description,
        input_serializer=input_serializer, max_retries=3, typical_duration=_typical(name),
        extra={"modal_title": modal_title, "icon": icon}, link=decision_link,
        link_label="open decision", **options,
    ))


COMPETITOR_ANALYSIS = _register(
    "competitor_analysis", competitor_analysis.run, "Competitor analysis",
    "Scrape a competitor's website, search news and reviews, and write its profile for a "
    "decision.",
    competitor_analysis.CompetitorAnalysisInput,
    modal_title="Analyzing Competitor", icon="search",
)
MARKET_RESEARCH = _register(
    "market_research", market_research.run, "Market research",
    "Search market sources and record evidence items for a decision.",
    market_research.MarketResearchInput,
    modal_title="Researching the Market", icon="trend",
)
BRIEF_GENERATION = _register(
    "brief_generation", brief_generation.run, "Brief generation",
    "Write a brief from everything gathered for a decision.",
    brief_generation.BriefGenerationInput,
    modal_title="Generating Brief", icon="file",
)
OPTION_ANALYSIS = _register(
    "option_analysis", option_analysis.run, "Option analysis",
    "Assess one option of a decision: pros, cons, risks and a score.",
    option_analysis.OptionAnalysisInput,
    modal_title="Analyzing Option", icon="scale", kind=OptionAnalysisJobType,
    # Two analyses of one option would race to write it: one at a time.
    lock=lambda input, scope: f"competitors:option:{input.get('option_id')}",
)
EVIDENCE_SEARCH = _register(
    "evidence_search", evidence_search.run, "Evidence search",
    "Find evidence for a question in search sources and the decision's material.",
    evidence_search.EvidenceSearchInput,
    modal_title="Searching for Evidence", icon="evidence",
)

DECISION_JOB_TYPES = (COMPETITOR_ANALYSIS, MARKET_RESEARCH, BRIEF_GENERATION, OPTION_ANALYSIS,
                      EVIDENCE_SEARCH)
