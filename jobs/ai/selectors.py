"""Reads over the generation logs."""

from __future__ import annotations

from typing import Any

from django.db import connection


def generation_stats(
    *, days: int = 30, purpose: str | None = None, job_type: str | None = None
) -> list[dict[str, Any]]:
    """Per day over the last `days`, newest first: the roadmap seed's monitoring query.

    Each row: date, runs (LLM calls), jobs (distinct jobs that made them),
    avg_time_ms, total_tokens, successful_runs. Filter by `purpose` (the
    label callers pass) or by the calling job's type. The range is served by
    the index on created_at.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (g.created_at AT TIME ZONE 'UTC')::date AS date, count(*) AS runs, "
            "count(DISTINCT g.job_id) AS jobs, "
            "round(avg(g.duration_ms))::int AS avg_time_ms, "
            "sum(g.prompt_tokens + g.completion_tokens)::bigint AS total_tokens, "
            "count(*) FILTER (WHERE g.success) AS successful_runs "
            "FROM ai_generationlog g LEFT JOIN jobs_job j ON j.id = g.job_id "
            "WHERE g.created_at > now() - make_interval(days => %(days)s) "
            "AND (%(purpose)s::text IS NULL OR g.purpose = %(purpose)s::text) "
            "AND (%(job_type)s::text IS NULL OR j.type = %(job_type)s::text) "
            "GROUP BY 1 ORDER BY 1 DESC",
            {"days": days, "purpose": purpose, "job_type": job_type},
        )
        columns = [c.name for c in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
