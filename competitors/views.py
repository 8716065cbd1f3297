"""Server-rendered pages: decisions, a decision (where each job type starts), a
competitor profile, and a demo company website to analyse."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_http_methods

from competitors import selectors, services
from competitors.jobtypes import DECISION_JOB_TYPES
from jobs import selectors as job_selectors
from jobs.models import ACTIVE_STATUSES, Job


def job_types_info() -> dict[str, dict[str, Any]]:
    """What the page's script needs per job type: names, durations (measured once the
    type has run a few times), poll intervals."""
    measured = job_selectors.measured_durations([t.name for t in DECISION_JOB_TYPES])
    return {
        t.name: {
            "title": t.title,
            "typical_duration": job_selectors.duration_hint(measured.get(t.name),
                                                            t.typical_duration),
            "measured_duration": measured.get(t.name),
            "poll_interval_ms": t.poll_interval,
            "max_duration_seconds": t.max_duration,
            "modal_title": t.extra.get("modal_title", t.title),
            "icon": t.extra.get("icon", ""),
        }
        for t in DECISION_JOB_TYPES
    }


def _job_info(job: Job, place: int | None = None) -> dict[str, Any]:
    return {"id": str(job.id), "type": job.type, "status": job.status,
            "progress": job.progress, "status_message": job.status_message,
            "input": job.input, "queue_place": place}


@login_required
@require_http_methods(["GET", "POST"])
def decision_list(request: HttpRequest) -> HttpResponse:
    error = ""
    if request.method == "POST":
        title = request.POST.get("title", "").strip()
        organization = job_selectors.default_organization(request.user)
        if not title:
            error = "A decision needs a title."
        elif organization is None:
            error = "You belong to no organization; ask an admin to add you."
        else:
            decision = services.decision_create(
                organization=organization, title=title[:200],
                context=request.POST.get("context", "").strip(), user=request.user,
            )
            return redirect("decision-page", decision_id=decision.id)
    return render(request, "competitors/decision_list.html", {
        "decisions": selectors.decisions_for_user(request.user).order_by("-created_at"),
        "error": error,
    })


@login_required
@ensure_csrf_cookie
def decision_page(request: HttpRequest, decision_id: Any) -> HttpResponse:
    decision = selectors.decision_for_user(request.user, decision_id)
    active = list(selectors.decision_jobs(decision).filter(status__in=ACTIVE_STATUSES))
    places = job_selectors.queue_places(active)
    return render(request, "competitors/decision_detail.html", {
        "decision": decision,
        "options": decision.options.all(),
        "profiles": decision.competitor_profiles.all(),
        "research": decision.market_research.prefetch_related("evidence_items"),
        "evidence": decision.evidence_items.exclude(origin="market_research")
        .order_by("-created_at", "position")[:50],
        "brief": decision.outputs.filter(kind="brief").first(),
        "job_types": job_types_info(),
        "active_jobs": [_job_info(j, places.get(j.id)) for j in active],
    })


@login_required
def competitor_profile_page(request: HttpRequest, decision_id: Any, profile_id: Any
                            ) -> HttpResponse:
    decision = selectors.decision_for_user(request.user, decision_id)
    profile = selectors.profile_for(decision, profile_id)
    return render(request, "competitors/profile_detail.html",
                  {"decision": decision, "profile": profile})


def demo_site(request: HttpRequest) -> HttpResponse:
    """A fictional competitor's homepage, so the demo can analyse a site with no network
    (allow it with COMPETITORS_SCRAPE_ALLOW_PRIVATE_HOSTS=127.0.0.1)."""
    return render(request, "competitors/demo_site.html")
