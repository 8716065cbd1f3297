"""Reads: what a user may see."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from jobs.models import Job, Membership, Organization


def organizations_for_user(user: Any) -> QuerySet[Organization]:
    return Organization.objects.filter(memberships__user=user, is_active=True)


def default_organization(user: Any) -> Organization | None:
    membership = (
        Membership.objects.filter(user=user, organization__is_active=True)
        .select_related("organization")
        .order_by("created_at", "id")
        .first()
    )
    return membership.organization if membership else None


def jobs_for_user(user: Any) -> QuerySet[Job]:
    """Jobs of the user's organizations (one query, no join fan-out)."""
    org_ids = Membership.objects.filter(user=user).values("organization_id")
    return Job.objects.filter(organization_id__in=org_ids)
