"""Reads: what a user may see.

A deactivated organization (`Organization.is_active` False) is closed to its
members everywhere: every read below goes through `member_organization_ids`
(or, for the hand-written SQL of the poll fast path, `member_organizations_sql`,
the same condition), so its jobs, projects, documents and decisions answer 404
and nothing new can be started in it.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import QuerySet

from jobs.errors import NoOrganization
from jobs.models import Job, Membership, Organization


def member_organization_ids(user: Any) -> QuerySet[Membership, Any]:
    """The ids of the active organizations the user belongs to (a subquery)."""
    return Membership.objects.filter(user=user, organization__is_active=True).values(
        "organization_id"
    )


def member_organizations_sql(user_id_sql: str) -> str:
    """`member_organization_ids` in SQL: the active organizations of the user whose id
    is the SQL expression `user_id_sql`, for queries written by hand."""
    return (
        f"SELECT m.organization_id FROM {Membership._meta.db_table} m"
        f" JOIN {Organization._meta.db_table} o ON o.id = m.organization_id AND o.is_active"
        f" WHERE m.user_id = {user_id_sql}"
    )


def organizations_for_user(user: Any) -> QuerySet[Organization]:
    return Organization.objects.filter(id__in=member_organization_ids(user))


def default_organization(user: Any) -> Organization | None:
    membership = (
        Membership.objects.filter(user=user, organization__is_active=True)
        .select_related("organization")
        .order_by("created_at", "id")
        .first()
    )
    return membership.organization if membership else None


NOT_A_MEMBER = "You are not a member of this organization."
NO_ORGANIZATION = "You belong to no organization; ask an admin to add you."


def organization_for_create(
    user: Any, organization_id: Any | None = None, *, field: str = "organization_id"
) -> Organization:
    """The organization something the user creates goes in: the one named (of the
    user's active organizations), else the user's first. Raises NoOrganization
    when there is none: the API answers 400 on `field` (the body's own name for
    it), with the same words everywhere."""
    if organization_id is not None:
        organization = organizations_for_user(user).filter(id=organization_id).first()
        if organization is None:
            raise NoOrganization({field: [NOT_A_MEMBER]})
        return organization
    organization = default_organization(user)
    if organization is None:
        raise NoOrganization({field: [NO_ORGANIZATION]})
    return organization


def jobs_for_user(user: Any) -> QuerySet[Job]:
    """Jobs of the user's active organizations (one query, no join fan-out)."""
    return Job.objects.filter(organization_id__in=member_organization_ids(user))


def recent_jobs_for_user(user: Any, *, limit: int = 50) -> list[Job]:
    """The user's own most recent jobs, in organizations they still belong to."""
    return list(jobs_for_user(user).filter(user=user).order_by("-created_at")[:limit])


# How many of a type's latest completed runs the duration hint is measured over,
# and how many it needs before it replaces the type's written estimate.
MEASURED_RUNS = 20
MEASURED_MIN_RUNS = 3


def measured_durations(types: list[str]) -> dict[str, dict[str, float | int]]:
    """Each type's measured run time (seconds from start to completion) over its
    latest completed runs: {type: {"runs", "p25", "median", "p75"}}.

    One statement for all the types: a LATERAL read of each type's newest
    completed jobs (job_type_created_idx), so the page that shows the hint pays
    one round trip, and the poll route none.
    """
    if not types:
        return {}
    sql = """
        SELECT t.type, count(d.s),
               percentile_cont(0.25) WITHIN GROUP (ORDER BY d.s),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY d.s),
               percentile_cont(0.75) WITHIN GROUP (ORDER BY d.s)
        FROM unnest(%s::text[]) AS t(type)
        CROSS JOIN LATERAL (
            SELECT extract(epoch FROM j.completed_at - j.started_at) AS s
            FROM jobs_job j
            WHERE j.type = t.type AND j.status = 'completed'
              AND j.started_at IS NOT NULL AND j.completed_at IS NOT NULL
            ORDER BY j.created_at DESC
            LIMIT %s
        ) d
        GROUP BY t.type
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(types), MEASURED_RUNS])
        rows = cursor.fetchall()
    return {
        name: {"runs": runs, "p25": float(p25), "median": float(median), "p75": float(p75)}
        for name, runs, p25, median, p75 in rows
        if runs >= MEASURED_MIN_RUNS
    }


def _seconds(value: float) -> str:
    if value < 60:
        n = max(1, round(value))
        return f"{n} second{'s' if n != 1 else ''}"
    n = max(1, round(value / 60))
    return f"{n} minute{'s' if n != 1 else ''}"


def duration_hint(measured: dict[str, float | int] | None, written: str) -> str:
    """"This usually takes ..." in words: the measured middle half of recent runs
    when there are enough of them, else the type's written estimate."""
    if not measured:
        return written
    low, high = float(measured["p25"]), float(measured["p75"])
    if high < 1:
        return "under a second"
    low_text, high_text = _seconds(low), _seconds(high)
    if low_text == high_text:
        return f"about {low_text}"
    low_n, low_unit = low_text.split(" ", 1)
    high_n, high_unit = high_text.split(" ", 1)
    if low_unit.rstrip("s") == high_unit.rstrip("s"):
        return f"{low_n}-{high_n} {high_unit}"
    return f"{low_text} to {high_text}"


def queue_places(jobs: list[Job]) -> dict[Any, int]:
    """For each pending job, its place in line: 1 + the pending jobs that became
    available before it (all organizations share the workers). One index range count
    per pending job (job_active_age_idx), for the few a page shows."""
    places: dict[Any, int] = {}
    for job in jobs:
        if job.status != "pending":
            continue
        ahead = Job.objects.filter(status="pending", available_at__lt=job.available_at).count()
        places[job.id] = ahead + 1
    return places
