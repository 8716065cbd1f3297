"""Every write of the competitors app.

The `*_save` functions are what job handlers run in the transaction that
completes their job (`ctx.on_complete`): keyed on the job's id, so a job that
runs twice leaves one set of rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from competitors.models import (
    CompetitorProfile,
    Decision,
    EvidenceItem,
    MarketResearch,
    Option,
    Output,
)
from jobs.models import Organization

_THREATS = {c.value for c in CompetitorProfile.ThreatLevel}
_STANCES = {c.value for c in EvidenceItem.Stance}


def decision_create(
    *, organization: Organization, title: str, context: str = "", user: Any = None
) -> Decision:
    return Decision.objects.create(
        organization=organization,
        title=title,
        context=context,
        created_by=user if getattr(user, "pk", None) else None,
    )


def decision_update(*, decision: Decision, **fields: Any) -> Decision:
    for name, value in fields.items():
        setattr(decision, name, value)
    decision.save(update_fields=[*fields, "updated_at"])
    return decision


def option_create(*, decision: Decision, title: str, description: str = "") -> Option:
    with transaction.atomic():
        # Lock the decision so two options added at once get distinct positions.
        Decision.objects.select_for_update().filter(id=decision.id).first()
        last = decision.options.aggregate(m=Max("position"))["m"]
        return Option.objects.create(
            decision=decision, title=title, description=description,
            position=(last or 0) + 1,
        )


def option_update(*, option: Option, **fields: Any) -> Option:
    for name, value in fields.items():
        setattr(option, name, value)
    option.save(update_fields=[*fields, "updated_at"])
    return option


def option_delete(*, option: Option) -> None:
    option.delete()


# --- what the jobs write ------------------------------------------------------------


def _text(value: Any, limit: int = 4000) -> str:
    return str(value or "")[:limit]


def _strings(value: Any, limit: int = 10) -> list[str]:
    if not isinstance(value, list):
        return []
    return [str(v)[:500] for v in value if str(v).strip()][:limit]


def competitor_profile_save(
    *,
    profile_id: Any,
    decision_id: Any,
    job_id: Any,
    company_name: str,
    company_url: str,
    profile: Mapping[str, Any],
    website: Mapping[str, Any],
    news: Sequence[Mapping[str, Any]],
    reviews: Sequence[Mapping[str, Any]],
    provider: str,
    model: str,
    offline: bool,
) -> CompetitorProfile:
    threat = str(profile.get("threat_level", "medium")).lower()
    fields = {
            "decision_id": decision_id,
            "company_name": company_name,
            "company_url": company_url,
            "status": "complete",
            "summary": _text(profile.get("summary")),
            "positioning": _text(profile.get("positioning")),
            "target_customers": _text(profile.get("target_customers")),
            "pricing": _text(profile.get("pricing")),
            "products": _strings(profile.get("products")),
            "strengths": _strings(profile.get("strengths")),
            "weaknesses": _strings(profile.get("weaknesses")),
            "threat_level": threat if threat in _THREATS else "medium",
            "implications": _text(profile.get("implications")),
            "website": {k: website.get(k) for k in ("url", "final_url", "status", "title",
                                                   "description", "ok", "error")
                        if k in website},
            "recent_news": list(news)[:10],
            "review_highlights": list(reviews)[:10],
            "provider": provider,
            "model": model,
            "offline": offline,
            "generated_at": timezone.now(),
    }
    saved, _ = CompetitorProfile.objects.update_or_create(
        job_id=job_id, defaults=fields, create_defaults={**fields, "id": profile_id}
    )
    return saved


def evidence_items_save(
    *,
    decision_id: Any,
    job_id: Any,
    origin: str,
    query: str,
    items: Sequence[Mapping[str, Any]],
    offline: bool,
    market_research_id: Any = None,
) -> list[EvidenceItem]:
    """The job's items at positions 0..n-1 (rows past n, from an older answer, go)."""
    saved = []
    created_at = timezone.now()
    for position, item in enumerate(items):
        stance = str(item.get("stance", "neutral")).lower()
        try:
            relevance = min(1.0, max(0.0, float(item.get("relevance", 0.5))))
        except (TypeError, ValueError):
            relevance = 0.5
        row, _ = EvidenceItem.objects.update_or_create(
            job_id=job_id,
            position=position,
            defaults={
                "decision_id": decision_id,
                "market_research_id": market_research_id,
                "origin": origin,
                "query": query[:300],
                "title": _text(item.get("title"), 300) or "Untitled",
                "summary": _text(item.get("summary")),
                "stance": stance if stance in _STANCES else "neutral",
                "relevance": relevance,
                "source_title": _text(item.get("source_title"), 300),
                "source_url": _url(item.get("source_url")),
                "offline": offline,
                "created_at": created_at,
            },
        )
        saved.append(row)
    EvidenceItem.objects.filter(job_id=job_id, position__gte=len(items)).delete()
    return saved


def _url(value: Any) -> str:
    text = str(value or "")
    return text[:500] if text.startswith(("http://", "https://")) else ""


def market_research_save(
    *,
    research_id: Any,
    decision_id: Any,
    job_id: Any,
    query: str,
    data: Mapping[str, Any],
    sources_searched: int,
    offline: bool,
) -> MarketResearch:
    fields = {
            "decision_id": decision_id,
            "query": query[:300],
            "summary": _text(data.get("summary")),
            "market_size": _text(data.get("market_size"), 500),
            "trends": _strings(data.get("trends")),
            "sources_searched": sources_searched,
            "offline": offline,
            "generated_at": timezone.now(),
    }
    research, _ = MarketResearch.objects.update_or_create(
        job_id=job_id, defaults=fields, create_defaults={**fields, "id": research_id}
    )
    evidence_items_save(
        decision_id=decision_id,
        job_id=job_id,
        origin=EvidenceItem.Origin.MARKET_RESEARCH,
        query=query,
        items=data.get("evidence") or [],
        offline=offline,
        market_research_id=research.id,
    )
    return research


def output_save(
    *,
    output_id: Any,
    decision_id: Any,
    job_id: Any,
    title: str,
    content: str,
    provider: str,
    model: str,
    offline: bool,
) -> Output:
    fields = {
            "decision_id": decision_id,
            "kind": Output.Kind.BRIEF,
            "title": title[:300] or "Decision brief",
            "content": content,
            "provider": provider,
            "model": model,
            "offline": offline,
            "generated_at": timezone.now(),
    }
    output, _ = Output.objects.update_or_create(
        job_id=job_id, defaults=fields, create_defaults={**fields, "id": output_id}
    )
    return output


def option_analysis_save(*, option_id: Any, job_id: Any, analysis: Mapping[str, Any]) -> int:
    """Set the option's analysis; 0 when the option was deleted meanwhile."""
    return Option.objects.filter(id=option_id).update(
        ai_analysis=dict(analysis),
        analysis_job_id=job_id,
        analyzed_at=timezone.now(),
        updated_at=timezone.now(),
    )


def decision_delete(*, decision: Decision) -> None:
    decision.delete()
