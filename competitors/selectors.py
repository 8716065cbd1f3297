"""Reads: the decisions (and what hangs off them) a user may see."""

from __future__ import annotations

from typing import Any

from django.db.models import F, Func, IntegerField, OuterRef, QuerySet, Subquery
from django.http import Http404

from competitors.models import CompetitorProfile, Decision, Option, Output
from jobs import selectors as job_selectors
from jobs.models import Job


def decisions_for_user(user: Any) -> QuerySet[Decision]:
    return Decision.objects.filter(
        organization__in=job_selectors.organizations_for_user(user)
    ).annotate(
        # Counted per row by subqueries, not COUNT(DISTINCT) over a join of both
        # relations (options x profiles rows per decision, and a GROUP BY that
        # makes the page's total a second query).
        option_count=_count(Option, "decision_id"),
        competitor_count=_count(CompetitorProfile, "decision_id"),
    )


def _count(model: Any, fk: str) -> Subquery:
    # COUNT through Func: no GROUP BY, so a decision with none counts 0 (not NULL).
    rows = model.objects.filter(**{fk: OuterRef("pk")}).order_by()
    return Subquery(rows.annotate(n=Func(F("pk"), function="COUNT")).values("n"),
                    output_field=IntegerField())


def decision_for_user(user: Any, decision_id: Any) -> Decision:
    decision = (
        Decision.objects.filter(
            id=decision_id, organization__in=job_selectors.organizations_for_user(user)
        ).first()
    )
    if decision is None:
        raise Http404("No such decision.")
    return decision


def option_for(decision: Decision, option_id: Any) -> Option:
    option = decision.options.filter(id=option_id).first()
    if option is None:
        raise Http404("No such option.")
    return option


def profile_for(decision: Decision, profile_id: Any) -> CompetitorProfile:
    profile = decision.competitor_profiles.filter(id=profile_id).first()
    if profile is None:
        raise Http404("No such competitor profile.")
    return profile


def output_for(decision: Decision, output_id: Any) -> Output:
    output = decision.outputs.filter(id=output_id).first()
    if output is None:
        raise Http404("No such output.")
    return output


def decision_jobs(decision: Decision) -> QuerySet[Job]:
    return Job.objects.filter(
        decision_id=decision.id, organization_id=decision.organization_id
    ).order_by("-created_at")
