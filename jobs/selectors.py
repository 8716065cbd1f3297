"""Reads: what a user may see.

A deactivated organization (`Organization.is_active` False) is closed to its
members everywhere: every read below goes through `member_organization_ids`
(or, for the hand-written SQL of the poll fast path, `member_organizations_sql`,
the same condition), so its jobs, projects, documents and decisions answer 404
and nothing new can be started in it.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

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


def jobs_for_user(user: Any) -> QuerySet[Job]:
    """Jobs of the user's active organizations (one query, no join fan-out)."""
    return Job.objects.filter(organization_id__in=member_organization_ids(user))
