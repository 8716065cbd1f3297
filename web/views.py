"""The front door: the member's home page and the favicon."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.cache import cache_control
from django.views.generic import RedirectView

from competitors import selectors as decision_selectors
from jobs import selectors as job_selectors
from jobs.models import ACTIVE_STATUSES
from jobs.views import job_row
from reports.selectors import documents_for

HOME_JOBS = 8
HOME_ITEMS = 6


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """What a member comes back for: their running and recent jobs, decisions, reports."""
    user = request.user
    mine = job_selectors.jobs_for_user(user).filter(user=user)  # type: ignore[misc]  # signed in
    running = list(mine.filter(status__in=ACTIVE_STATUSES).order_by("created_at")[:HOME_JOBS])
    recent = list(mine.exclude(status__in=ACTIVE_STATUSES).order_by("-created_at")[:HOME_JOBS])
    places = job_selectors.queue_places(running)
    return render(request, "web/home.html", {
        "running": [job_row(j, places.get(j.id)) for j in running],
        "recent": [job_row(j) for j in recent],
        "decisions": decision_selectors.decisions_for_user(user)
        .order_by("-created_at")[:HOME_ITEMS],
        "documents": documents_for(user).order_by("-created_at")[:HOME_ITEMS],
    })


favicon = cache_control(max_age=86400)(
    RedirectView.as_view(url=static("web/favicon.svg"), permanent=True))
