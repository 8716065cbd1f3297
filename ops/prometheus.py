"""The metrics in Prometheus' text format: a custom collector on a private registry.

A private `CollectorRegistry` (not the process-wide default) so the page
holds only these figures, computed fresh from the database at each scrape,
the same for every web process that answers it. The figures are windowed
gauges (last hour) rather than counters, because they are read from the
job table, not counted in process memory.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ops.alerts import SEVERITY, alert_kind
from ops.metrics import Summary, summary
from ops.models import AlertState

# TypeMetrics attribute -> metric name, help. `type="all"` is the total.
TYPE_GAUGES = [
    ("created_last_hour", "plinth_jobs_created_last_hour", "Jobs created in the last hour"),
    ("completed_last_hour", "plinth_jobs_completed_last_hour", "Jobs completed in the last hour"),
    ("failed_last_hour", "plinth_jobs_failed_last_hour", "Jobs failed in the last hour"),
    ("cancelled_last_hour", "plinth_jobs_cancelled_last_hour", "Jobs cancelled in the last hour"),
    ("failure_rate", "plinth_jobs_failure_ratio",
     "Failed / (completed + failed) in the last hour"),
    ("avg_duration_s", "plinth_jobs_duration_avg_seconds",
     "Average duration of jobs completed in the last hour"),
    ("p95_duration_s", "plinth_jobs_duration_p95_seconds",
     "P95 duration of jobs completed in the last hour"),
    ("p95_baseline_s", "plinth_jobs_duration_p95_7d_seconds",
     "P95 duration over the trailing 7 days (the alert's normal)"),
    ("baseline_samples", "plinth_jobs_duration_p95_7d_samples",
     "Completed jobs the trailing 7-day P95 was computed from"),
    ("pending", "plinth_jobs_pending", "Jobs waiting for a worker (queue depth)"),
    ("backing_off", "plinth_jobs_backing_off", "Pending jobs waiting for their retry time"),
    ("running", "plinth_jobs_running", "Jobs running"),
    ("oldest_pending_s", "plinth_jobs_oldest_pending_seconds",
     "How long the oldest runnable pending job has waited"),
    ("stuck", "plinth_jobs_stuck",
     "Jobs pending past expiry, running past their maximum, or on a stalled worker"),
    ("retries_last_hour", "plinth_jobs_retries_last_hour", "Retries scheduled in the last hour"),
]


class JobsCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        data = summary()
        for attr, name, help_text in TYPE_GAUGES:
            family = GaugeMetricFamily(name, help_text, labels=["type"])
            for metrics in [data.overall, *data.types]:
                value = getattr(metrics, attr)
                if value is not None:  # no completed job: no duration, rather than 0
                    family.add_metric([metrics.type], float(value))
            yield family
        todo = GaugeMetricFamily("plinth_queue_todo", "Procrastinate jobs waiting, per queue",
                                 labels=["queue"])
        doing = GaugeMetricFamily("plinth_queue_doing", "Procrastinate jobs running, per queue",
                                  labels=["queue"])
        for queue in data.queues:
            todo.add_metric([queue.queue], float(queue.todo))
            doing.add_metric([queue.queue], float(queue.doing))
        yield todo
        yield doing
        alerts = GaugeMetricFamily("plinth_alert_active", "1 while an ops alert is firing",
                                   labels=["alert", "severity"])
        for state in AlertState.objects.order_by("key"):
            severity = SEVERITY.get(alert_kind(state.key), ("unknown",))[0]
            alerts.add_metric([state.key, severity], 1.0 if state.active else 0.0)
        yield alerts
        yield from _run_gauges(data)


# RunTypeStatus attribute -> metric name, help; labelled by run-log type (jobs.RunLog).
RUN_GAUGES = [
    ("last_failed", "plinth_run_last_failed", "1 when the type's last run failed"),
    ("age_s", "plinth_run_last_age_seconds", "Seconds since the type's last run started"),
    ("processed", "plinth_run_last_processed", "Items the type's last run processed"),
    ("failed", "plinth_run_last_failed_items", "Items that failed in the type's last run"),
    ("duration_ms", "plinth_run_last_duration_ms", "Duration of the type's last run"),
]
# Sums over the last 30 days of roadmap generations (seed 000's monitoring query).
ROADMAP_GAUGES = [
    ("runs", "plinth_roadmap_generation_runs_30d", "Roadmap generations, last 30 days"),
    ("successful_runs", "plinth_roadmap_generation_successful_runs_30d",
     "Successful roadmap generations, last 30 days"),
    ("total_tokens", "plinth_roadmap_generation_tokens_30d",
     "Tokens used by roadmap generations, last 30 days"),
]


def _run_gauges(data: Summary) -> Iterator[Metric]:
    for attr, name, help_text in RUN_GAUGES:
        family = GaugeMetricFamily(name, help_text, labels=["type"])
        for run in data.runs:
            if not run.status:  # a scheduled type that never ran: no last run to report
                continue
            family.add_metric([run.type], float(getattr(run, attr)))
        yield family
    running = GaugeMetricFamily("plinth_run_last_running", "1 while the type's last run runs",
                                labels=["type"])
    for run in data.runs:
        if run.status:
            running.add_metric([run.type], 1.0 if run.status == "running" else 0.0)
    yield running
    for attr, name, help_text in ROADMAP_GAUGES:
        yield GaugeMetricFamily(name, help_text,
                                value=float(sum(getattr(d, attr) for d in data.roadmap)))
    runs = sum(d.runs for d in data.roadmap)
    avg = (sum(d.avg_time_ms * d.runs for d in data.roadmap) / runs) if runs else 0.0
    yield GaugeMetricFamily("plinth_roadmap_generation_avg_ms_30d",
                            "Average roadmap generation time over the last 30 days",
                            value=round(avg, 1))


def render() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(JobsCollector())
    return generate_latest(registry)
