"""The platform's page: "My jobs", the user's recent jobs of every type, each linked
to the page its type names (`JobType.link`, set by the app that registers it)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from jobs import registry, selectors
from jobs.errors import UnknownJobType
from jobs.models import Job

DEFAULT_POLL_INTERVAL_MS = 2000


def job_row(job: Job, place: int | None = None) -> dict[str, Any]:
    """A job as the pages list it: its type's title, poll interval and link."""
    try:
        jt: registry.JobType | None = registry.get(job.type)
    except UnknownJobType:  # a stored job of a type no longer registered
        jt = None
    return {
        "job": job,
        "title": jt.title if jt else job.type,
        "poll_interval_ms": jt.poll_interval if jt else DEFAULT_POLL_INTERVAL_MS,
        "link": jt.link_for(job) if jt else None,
        "link_label": jt.link_label if jt else "",
        "place": place,
    }


@login_required
@ensure_csrf_cookie
def job_list_page(request: HttpRequest) -> HttpResponse:
    jobs = selectors.recent_jobs_for_user(request.user)
    places = selectors.queue_places(jobs)
    return render(request, "jobs/job_list.html",
                  {"rows": [job_row(job, places.get(job.id)) for job in jobs]})
