"""Job metrics, computed from the database with indexed queries.

Each query below names the index that serves it; docs/ops.md has the plans
measured on two million job rows. The shape of the queries matters:

- Jobs created in the last hour are counted with `type = ANY(<every type>)`,
  so `job_type_created_idx (type, created_at)` answers with one descent per
  type; a plain `created_at >= ...` cannot use that index (its first column
  is the type) and scans the table. The list of types comes from the
  registry plus the types present in the table, found by a "loose index
  scan" (a recursive CTE that hops from one type to the next in the same
  index), so rows of a type no longer registered are still counted.
- The trailing 7-day P95 reads a week of rows, so it is stored per type
  (`DurationBaseline`) and refreshed at most once per
  OPS_BASELINE_REFRESH_SECONDS, not on every scrape.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from jobs import registry
from ops.models import DurationBaseline
from roadmap import selectors as roadmap_selectors

ALL = "all"  # the `type` of the overall figures


@dataclass
class TypeMetrics:
    type: str
    queue: str = ""
    created_last_hour: int = 0
    completed_last_hour: int = 0
    failed_last_hour: int = 0
    cancelled_last_hour: int = 0
    failure_rate: float = 0.0  # failed / (completed + failed), last hour
    avg_duration_s: float | None = None  # completed jobs, last hour
    p95_duration_s: float | None = None
    p95_baseline_s: float | None = None  # the trailing 7 days' P95 (stored)
    baseline_samples: int = 0
    pending: int = 0  # waiting for a worker, including retries in back-off
    backing_off: int = 0  # pending, but not runnable before their retry time
    running: int = 0
    oldest_pending_s: float | None = None  # the longest a runnable job has waited
    stuck: int = 0  # pending past expiry, running past the type's maximum, or stalled
    retries_last_hour: int = 0


@dataclass
class QueueDepth:
    queue: str
    todo: int = 0  # Procrastinate rows waiting (including scheduled ones)
    doing: int = 0
    pending_jobs: int = 0  # platform jobs of the types that run on this queue


@dataclass
class RunTypeStatus:
    """The last run of one run-log type (jobs.RunLog: the warmups, theme scans...)."""

    type: str
    scheduled: bool = False  # in OPS_SCHEDULED_RUN_TYPES: its failed last run alerts
    # Of the last run: running, success, failed or skipped ("" if never run).
    status: str = ""
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    age_s: float | None = None  # since the last run started
    processed: int = 0
    failed: int = 0
    duration_ms: int = 0
    error: str = ""  # the last run's first error
    # Of the last finished run, success or failed (what the alert looks at; a run
    # skipped because another held the lock neither raises nor clears it).
    finished_status: str = ""
    finished_failed: int = 0
    finished_error: str = ""
    finished_at_last: dt.datetime | None = None

    @property
    def last_failed(self) -> bool:
        return self.status == "failed"


@dataclass
class GenerationDay:
    """One day of roadmap generations (seed 000's monitoring query, all organizations)."""

    date: dt.date
    runs: int = 0
    avg_time_ms: float = 0.0
    total_tokens: int = 0
    successful_runs: int = 0


@dataclass
class Summary:
    at: dt.datetime
    overall: TypeMetrics
    types: list[TypeMetrics] = field(default_factory=list)
    queues: list[QueueDepth] = field(default_factory=list)
    runs: list[RunTypeStatus] = field(default_factory=list)
    roadmap: list[GenerationDay] = field(default_factory=list)

    def type(self, name: str) -> TypeMetrics:
        return next((m for m in self.types if m.type == name), TypeMetrics(type=name))

    def run(self, name: str) -> RunTypeStatus:
        return next((r for r in self.runs if r.type == name), RunTypeStatus(type=name))

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "overall": asdict(self.overall),
            "types": [asdict(t) for t in self.types],
            "queues": [asdict(q) for q in self.queues],
            "runs": [{**asdict(r), "last_failed": r.last_failed} for r in self.runs],
            "roadmap": [asdict(d) for d in self.roadmap],
        }


def _rows(sql: str, params: list[Any] | dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _seconds(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)


def job_type_names() -> list[str]:
    """Registered types and every type present in jobs_job (loose index scan)."""
    present = _rows(
        "WITH RECURSIVE t(type) AS ("
        "  (SELECT type FROM jobs_job ORDER BY type LIMIT 1)"
        "  UNION ALL"
        "  SELECT (SELECT j.type FROM jobs_job j WHERE j.type > t.type ORDER BY j.type LIMIT 1)"
        "  FROM t WHERE t.type IS NOT NULL"
        ") SELECT type FROM t WHERE type IS NOT NULL",
        [],
    )
    return sorted({t.name for t in registry.all_types()} | {name for (name,) in present})


def _type_limits(names: list[str]) -> tuple[list[str], list[int], list[int]]:
    """Each type's maximum running and pending seconds (the platform's defaults for a
    type no longer registered), as jobs.maintenance.expire_stuck_jobs applies them."""
    conf = settings.JOBS
    running, pending = [], []
    for name in names:
        try:
            job_type = registry.get(name)
            running.append(int(job_type.max_duration))
            pending.append(int(job_type.pending_expiry))
        except Exception:
            running.append(int(conf["DEFAULT_MAX_DURATION_SECONDS"]))
            pending.append(int(conf["PENDING_EXPIRY_SECONDS"]))
    return names, running, pending


def _queue_of(name: str) -> str:
    try:
        return registry.get(name).queue
    except Exception:
        return ""


def summary(*, now: dt.datetime | None = None) -> Summary:
    now = now or timezone.now()
    hour_ago = now - dt.timedelta(hours=1)
    names = job_type_names()
    per_type = {name: TypeMetrics(type=name, queue=_queue_of(name)) for name in names}
    overall = TypeMetrics(type=ALL)

    def row_for(name: str | None) -> TypeMetrics:
        if name is None:
            return overall
        return per_type.setdefault(name, TypeMetrics(type=name, queue=_queue_of(name)))

    # Creation rate. Index: job_type_created_idx (type, created_at), one range per type.
    for name, created in _rows(
        "SELECT type, count(*) FROM jobs_job WHERE type = ANY(%s) AND created_at >= %s "
        "GROUP BY type",
        [names, hour_ago],
    ):
        row_for(name).created_last_hour = created
        overall.created_last_hour += created

    # Finished in the last hour: counts, failure rate, avg and P95 duration, per type
    # and overall in one pass (GROUPING SETS). Index: job_status_completed_idx
    # (status, completed_at).
    duration = "EXTRACT(EPOCH FROM completed_at - started_at)"
    for grouped, name, done, failed, cancelled, avg, p95 in _rows(
        f"SELECT GROUPING(type), type, "
        f"count(*) FILTER (WHERE status = 'completed'), "
        f"count(*) FILTER (WHERE status = 'failed'), "
        f"count(*) FILTER (WHERE status = 'cancelled'), "
        f"avg({duration}) FILTER (WHERE status = 'completed' AND started_at IS NOT NULL), "
        f"percentile_cont(0.95) WITHIN GROUP (ORDER BY {duration}) "
        f"  FILTER (WHERE status = 'completed' AND started_at IS NOT NULL) "
        f"FROM jobs_job WHERE status IN ('completed', 'failed', 'cancelled') "
        f"AND completed_at >= %s GROUP BY GROUPING SETS ((type), ())",
        [hour_ago],
    ):
        m = row_for(None if grouped else name)
        m.completed_last_hour, m.failed_last_hour, m.cancelled_last_hour = done, failed, cancelled
        m.failure_rate = round(failed / (done + failed), 4) if done + failed else 0.0
        m.avg_duration_s, m.p95_duration_s = _seconds(avg), _seconds(p95)

    for baseline in DurationBaseline.objects.exclude(type=""):
        m = row_for(baseline.type)
        m.p95_baseline_s, m.baseline_samples = baseline.p95_seconds, baseline.samples

    # Active jobs: depth, back-off, oldest runnable, stuck. Index: the partial
    # job_active_age_idx (status, available_at) WHERE status IN (pending, running),
    # which holds only active jobs however long the history. "Stuck" uses the
    # platform's own expiry rules (jobs.maintenance.expire_stuck_jobs) plus running
    # jobs whose worker stopped sending heartbeats (rescue_stalled_jobs).
    types, limits, pending_limits = _type_limits(names)
    conf = settings.JOBS
    for name, pending, backing_off, running, oldest, stuck in _rows(
        "SELECT j.type, "
        "count(*) FILTER (WHERE j.status = 'pending'), "
        "count(*) FILTER (WHERE j.status = 'pending' AND j.available_at > %(now)s), "
        "count(*) FILTER (WHERE j.status = 'running'), "
        "min(j.available_at) FILTER (WHERE j.status = 'pending' AND j.available_at <= %(now)s), "
        "count(*) FILTER (WHERE "
        "  (j.status = 'pending' AND j.available_at < %(now)s - make_interval("
        "     secs => COALESCE(lim.pending, %(default_pending)s))) OR "
        "  (j.status = 'running' AND (j.started_at < %(now)s - make_interval("
        "     secs => COALESCE(lim.seconds, %(default_limit)s))"
        "   OR (p.status = 'doing' AND (p.worker_id IS NULL OR w.last_heartbeat < %(beat)s))))) "
        "FROM jobs_job j "
        "LEFT JOIN unnest(%(types)s::text[], %(limits)s::int[], %(pending_limits)s::int[]) "
        "  AS lim(type, seconds, pending) "
        "  ON lim.type = j.type "
        "LEFT JOIN procrastinate_jobs p ON p.id = j.procrastinate_job_id AND j.status = 'running' "
        "LEFT JOIN procrastinate_workers w ON w.id = p.worker_id "
        "WHERE j.status IN ('pending', 'running') GROUP BY j.type",
        {
            "now": now,
            "default_pending": int(conf["PENDING_EXPIRY_SECONDS"]),
            "default_limit": int(conf["DEFAULT_MAX_DURATION_SECONDS"]),
            "beat": now - dt.timedelta(seconds=float(conf["STALLED_WORKER_SECONDS"])),
            "types": types,
            "limits": limits,
            "pending_limits": pending_limits,
        },
    ):
        m = row_for(name)
        m.pending, m.backing_off, m.running, m.stuck = pending, backing_off, running, stuck
        m.oldest_pending_s = round((now - oldest).total_seconds(), 1) if oldest else None
        for attr in ("pending", "backing_off", "running", "stuck"):
            setattr(overall, attr, getattr(overall, attr) + getattr(m, attr))
        if m.oldest_pending_s is not None:
            overall.oldest_pending_s = max(overall.oldest_pending_s or 0.0, m.oldest_pending_s)

    # Retries. Index: the platform's partial jobevent_retry_created_idx
    # on jobs_jobevent (created_at) WHERE kind = 'retry_scheduled'.
    for name, retries in _rows(
        "SELECT j.type, count(*) FROM jobs_jobevent e JOIN jobs_job j ON j.id = e.job_id "
        "WHERE e.kind = 'retry_scheduled' AND e.created_at >= %s GROUP BY j.type",
        [hour_ago],
    ):
        row_for(name).retries_last_hour = retries
        overall.retries_last_hour += retries

    return Summary(
        at=now,
        overall=overall,
        types=[per_type[name] for name in sorted(per_type)],
        queues=_queues(per_type.values()),
        runs=run_logs_summary(now=now),
        roadmap=roadmap_generations(now=now),
    )


def run_logs_summary(*, now: dt.datetime | None = None) -> list[RunTypeStatus]:
    """Per run-log type (and every scheduled one, run or not): its last run, and its
    last finished run, from the run logs the warmups (seed 003) and the schedules write.

    Index: runlog_type_idx (job_type, started_at DESC). The types are found by a
    loose index scan (one descent per type), and each type's last run and last
    finished run are the first rows of its range in that index, so the cost
    grows with the number of types, not of runs.
    """
    now = now or timezone.now()
    scheduled = set(settings.OPS_SCHEDULED_RUN_TYPES)
    rows = _rows(
        "WITH RECURSIVE t(type) AS ("
        "  (SELECT job_type FROM jobs_runlog ORDER BY job_type LIMIT 1)"
        "  UNION ALL"
        "  SELECT (SELECT r.job_type FROM jobs_runlog r WHERE r.job_type > t.type "
        "          ORDER BY r.job_type LIMIT 1)"
        "  FROM t WHERE t.type IS NOT NULL"
        ") "
        "SELECT t.type, last.status, last.started_at, last.finished_at, last.processed, "
        "  last.failed, last.duration_ms, last.errors->>0, "
        "  fin.status, fin.failed, fin.errors->>0, fin.finished_at "
        "FROM t "
        "CROSS JOIN LATERAL (SELECT * FROM jobs_runlog r WHERE r.job_type = t.type "
        "  ORDER BY r.started_at DESC, r.id DESC LIMIT 1) last "
        "LEFT JOIN LATERAL (SELECT * FROM jobs_runlog r WHERE r.job_type = t.type "
        "  AND r.status IN ('success', 'failed') "
        "  ORDER BY r.started_at DESC, r.id DESC LIMIT 1) fin "
        "  ON true "
        "WHERE t.type IS NOT NULL",
        [],
    )
    found: dict[str, RunTypeStatus] = {}
    for (name, status, started, finished, processed, failed, duration, error,
         fin_status, fin_failed, fin_error, fin_at) in rows:
        found[name] = RunTypeStatus(
            type=name, scheduled=name in scheduled, status=status, started_at=started,
            finished_at=finished, age_s=round((now - started).total_seconds(), 1),
            processed=processed, failed=failed, duration_ms=duration, error=error or "",
            finished_status=fin_status or "", finished_failed=fin_failed or 0,
            finished_error=fin_error or "", finished_at_last=fin_at,
        )
    for name in scheduled - found.keys():  # never run yet: shown, nothing to alert
        found[name] = RunTypeStatus(type=name, scheduled=True)
    return [found[name] for name in sorted(found)]


def roadmap_generations(*, days: int = 30, now: dt.datetime | None = None
                        ) -> list[GenerationDay]:
    """Seed 000's monitoring query over every organization: per day of the last `days`,
    newest first, runs, average generation time, tokens and successful runs.

    Roadmap owns its table: this reads it through roadmap's selector.
    """
    now = now or timezone.now()
    return [
        GenerationDay(**day)
        for day in roadmap_selectors.generations_per_day(since=now - dt.timedelta(days=days))
    ]


def _queues(types: Iterable[TypeMetrics]) -> list[QueueDepth]:
    """Procrastinate rows per queue and status. Index: Procrastinate's partial
    procrastinate_jobs_id_lock_idx_v1 (WHERE status IN ('todo', 'doing'))."""
    depth: dict[str, QueueDepth] = {}
    for queue, status, count in _rows(
        "SELECT queue_name, status::text, count(*) FROM procrastinate_jobs "
        "WHERE status IN ('todo', 'doing') GROUP BY 1, 2",
        [],
    ):
        setattr(depth.setdefault(queue, QueueDepth(queue=queue)), status, count)
    for m in types:
        if m.pending and m.queue:
            depth.setdefault(m.queue, QueueDepth(queue=m.queue)).pending_jobs += m.pending
    return [depth[name] for name in sorted(depth)]


def baselines_refresh(*, now: dt.datetime | None = None, force: bool = False) -> bool:
    """Recompute every type's trailing 7-day P95 when the stored one is stale.

    The window ends an hour ago, so the hour the alert looks at is not part of
    the normal it is compared with. Index: job_status_completed_idx
    (status, completed_at). Returns whether it recomputed.
    """
    now = now or timezone.now()
    max_age = dt.timedelta(seconds=int(settings.OPS_BASELINE_REFRESH_SECONDS))
    latest = DurationBaseline.objects.filter(type="").values_list(
        "computed_at", flat=True).first()
    if not force and latest is not None and now - latest < max_age:
        return False
    rows = _rows(
        "SELECT type, percentile_cont(0.95) WITHIN GROUP "
        "(ORDER BY EXTRACT(EPOCH FROM completed_at - started_at)), count(*) "
        "FROM jobs_job WHERE status = 'completed' AND started_at IS NOT NULL "
        "AND completed_at >= %s AND completed_at < %s GROUP BY type",
        [now - dt.timedelta(days=7), now - dt.timedelta(hours=1)],
    )
    seen = set()
    for name, p95, samples in rows:
        seen.add(name)
        DurationBaseline.objects.update_or_create(
            type=name, defaults={"p95_seconds": _seconds(p95), "samples": samples,
                                 "computed_at": now})
    # A type with no completed job in the window has no normal any more.
    DurationBaseline.objects.exclude(type__in=seen | {""}).update(
        p95_seconds=None, samples=0, computed_at=now)
    # The row "" only records when the (possibly empty) week was last computed,
    # so an idle system does not recompute it every minute.
    DurationBaseline.objects.update_or_create(
        type="", defaults={"p95_seconds": None, "samples": 0, "computed_at": now})
    return True


def hourly_history(*, hours: int = 24, now: dt.datetime | None = None) -> dict[str, Any]:
    """Jobs finished per hour by status, and P95 per type per hour, for the charts.

    Index: job_status_completed_idx (status, completed_at); the cost grows with
    the last day's volume (about 100 ms for 65,000 jobs a day).
    """
    now = now or timezone.now()
    since = now - dt.timedelta(hours=hours)
    by_status = _rows(
        "SELECT date_trunc('hour', completed_at) AS h, status, count(*) FROM jobs_job "
        "WHERE status IN ('completed', 'failed', 'cancelled') AND completed_at >= %s "
        "GROUP BY 1, 2 ORDER BY 1",
        [since],
    )
    p95 = _rows(
        "SELECT date_trunc('hour', completed_at) AS h, type, percentile_cont(0.95) WITHIN GROUP "
        "(ORDER BY EXTRACT(EPOCH FROM completed_at - started_at)) FROM jobs_job "
        "WHERE status = 'completed' AND started_at IS NOT NULL AND completed_at >= %s "
        "GROUP BY 1, 2 ORDER BY 1",
        [since],
    )
    return {
        "by_status": [(h, s, c) for h, s, c in by_status],
        "p95": [(h, t, float(v)) for h, t, v in p95],
    }
