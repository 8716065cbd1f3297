"""Reads: what a user may see, and the seed's generation statistics."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection
from django.db.models import Avg, Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from jobs import selectors as job_selectors
from roadmap.models import Project, RoadmapGenerationLog, RoadmapSuggestion


def projects_for_user(user: Any) -> QuerySet[Project]:
    return Project.objects.filter(
        organization__in=job_selectors.organizations_for_user(user)
    ).select_related("organization")


def suggestions_for_user(user: Any) -> QuerySet[RoadmapSuggestion]:
    return RoadmapSuggestion.objects.filter(
        project__organization__in=job_selectors.organizations_for_user(user)
    ).select_related("theme", "project")


def generation_stats(
    *, organization_ids: list[Any], project_id: Any | None = None, days: int = 30
) -> list[dict[str, Any]]:
    """Per day over the last `days`: runs, average time, total tokens, successful runs.

    The seed's monitoring query on roadmap_generation_logs, limited to the
    caller's organizations (and one project, if asked).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DATE(l.created_at) AS date, COUNT(*) AS runs, "
            "AVG(l.generation_time_ms) AS avg_time_ms, "
            "SUM(l.gpt4_tokens_used) AS total_tokens, "
            "SUM(CASE WHEN l.success = true THEN 1 ELSE 0 END) AS successful_runs "
            "FROM roadmap_roadmapgenerationlog l "
            "JOIN roadmap_project p ON p.id = l.project_id "
            "WHERE l.created_at > NOW() - make_interval(days => %s) "
            "AND p.organization_id = ANY(%s::uuid[]) "
            "AND (%s::uuid IS NULL OR l.project_id = %s::uuid) "
            "GROUP BY DATE(l.created_at) "
            "ORDER BY date DESC",
            [days, [str(o) for o in organization_ids], project_id and str(project_id),
             project_id and str(project_id)],
        )
        rows = cursor.fetchall()
    return [
        {
            "date": date,
            "runs": int(runs),
            "avg_time_ms": round(float(avg or 0), 1),
            "total_tokens": int(tokens or 0),
            "successful_runs": int(ok or 0),
        }
        for date, runs, avg, tokens, ok in rows
    ]


def generations_per_day(*, since: dt.datetime) -> list[dict[str, Any]]:
    """Every organization's generations since `since`, per UTC day, newest first:
    runs, average time, total tokens, successful runs (the ops figures).

    Index: roadmap_genlog_created_idx (created_at), one range scan.
    """
    rows = (
        RoadmapGenerationLog.objects.filter(created_at__gt=since)
        .annotate(date=TruncDate("created_at", tzinfo=dt.UTC))
        .values("date")
        .annotate(
            runs=Count("id"),
            avg_time_ms=Avg("generation_time_ms"),
            total_tokens=Sum("gpt4_tokens_used"),
            successful_runs=Count("id", filter=Q(success=True)),
        )
        .order_by("-date")
    )
    return [
        {
            "date": row["date"],
            "runs": int(row["runs"]),
            "avg_time_ms": round(float(row["avg_time_ms"] or 0), 1),
            "total_tokens": int(row["total_tokens"] or 0),
            "successful_runs": int(row["successful_runs"] or 0),
        }
        for row in rows
    ]
