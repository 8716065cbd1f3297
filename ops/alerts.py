"""Alerts with the seed's thresholds, fired once when they start and once when they clear.

An alert's current state is a row in `AlertState`; an evaluation compares
each condition with it and records only changes (`AlertEvent`, the history),
so a condition that holds for an hour gives one "fired" and, when it ends,
one "cleared". Events are sent to Slack after the transaction that recorded
them has committed, each under its own idempotency key (`ops-alert:<id>`), so
a retried send never posts twice; a send that failed with a retryable error
is tried again at the next evaluation.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field, replace

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from jobs import maintenance
from jobs.errors import PermanentJobError
from jobs.integrations import slack
from jobs.locks import session_lock
from ops import pagerduty
from ops.metrics import Summary, summary
from ops.models import AlertEvent, AlertState

logger = logging.getLogger(__name__)

FAILURE_RATE = "failure-rate"
FAILURE_RATE_PREFIX = "failure-rate:"  # per job type
QUEUE_DEPTH = "queue-depth"
STUCK_JOBS = "stuck-jobs"
P95_PREFIX = "p95:"
RUN_FAILED_PREFIX = "run-failed:"  # per scheduled run-log type
PREFIXES = (FAILURE_RATE_PREFIX, P95_PREFIX, RUN_FAILED_PREFIX)

# Alert key (or key prefix) -> (severity, what to do), from the seed's table; a
# scheduled run that failed is not in the seed's table: a warning.
SEVERITY = {
    FAILURE_RATE: ("critical", "page on-call"),
    FAILURE_RATE_PREFIX: ("critical", "page on-call"),
    QUEUE_DEPTH: ("warning", "warning"),
    P95_PREFIX: ("investigate", "investigate"),
    STUCK_JOBS: ("remediate", "fixed automatically"),
    RUN_FAILED_PREFIX: ("warning", "check the run log"),
}


def alert_kind(key: str) -> str:
    """The SEVERITY entry of an alert key: its prefix for a per-type key."""
    return next((prefix for prefix in PREFIXES if key.startswith(prefix)), key)
# A send still failing after this long is given up (an alert a day late misleads).
DELIVERY_GIVE_UP = dt.timedelta(days=1)


@dataclass(frozen=True)
class Condition:
    key: str
    active: bool
    value: float
    message: str  # said when it fires
    cleared: str  # said when it clears

    @property
    def severity(self) -> str:
        return SEVERITY[alert_kind(self.key)][0]


@dataclass
class Remediation:
    stuck: int
    expired: int
    rescued: int


@dataclass
class Evaluation:
    events: list[AlertEvent] = field(default_factory=list)
    remediation: Remediation | None = None
    skipped: bool = False  # another evaluation held the lock


def alert_conditions(metrics: Summary) -> list[Condition]:
    overall = metrics.overall
    finished = overall.completed_last_hour + overall.failed_last_hour
    rate_limit = settings.OPS_ALERT_FAILURE_RATE
    depth_limit = settings.OPS_ALERT_QUEUE_DEPTH
    stuck_limit = settings.OPS_ALERT_STUCK_JOBS
    factor = settings.OPS_ALERT_P95_FACTOR
    min_samples = settings.OPS_ALERT_P95_MIN_SAMPLES
    conditions = [
        Condition(
            FAILURE_RATE,
            # A handful of finished jobs is no rate: 1 failure of 1 must not page anyone.
            finished >= settings.OPS_ALERT_MIN_FINISHED and overall.failure_rate > rate_limit,
            overall.failure_rate,
            f"Failure rate {overall.failure_rate:.0%} over the last hour "
            f"({overall.failed_last_hour} of {finished} finished jobs failed; threshold "
            f"{rate_limit:.0%}): page on-call",
            f"Failure rate back to {overall.failure_rate:.0%} over the last hour",
        ),
        Condition(
            QUEUE_DEPTH,
            overall.pending > depth_limit,
            overall.pending,
            f"Queue depth {overall.pending} pending jobs (threshold {depth_limit})",
            f"Queue depth back to {overall.pending} pending jobs",
        ),
    ]
    for m in metrics.types:
        # The same rule per type: one type failing every job pages even while the
        # other types' successes keep the overall rate under the threshold.
        type_finished = m.completed_last_hour + m.failed_last_hour
        conditions.append(Condition(
            f"{FAILURE_RATE_PREFIX}{m.type}",
            type_finished >= settings.OPS_ALERT_MIN_FINISHED and m.failure_rate > rate_limit,
            m.failure_rate,
            f"{m.type}: failure rate {m.failure_rate:.0%} over the last hour "
            f"({m.failed_last_hour} of {type_finished} finished jobs failed; threshold "
            f"{rate_limit:.0%}): page on-call",
            f"{m.type}: failure rate back to {m.failure_rate:.0%} over the last hour",
        ))
    for m in metrics.types:
        slow = (
            m.p95_duration_s is not None
            and m.p95_baseline_s is not None
            and m.completed_last_hour >= min_samples
            and m.baseline_samples >= min_samples
            and m.p95_duration_s > factor * m.p95_baseline_s
        )
        conditions.append(Condition(
            f"{P95_PREFIX}{m.type}",
            slow,
            m.p95_duration_s or 0.0,
            f"{m.type}: P95 duration {m.p95_duration_s} s over the last hour is more than "
            f"{factor:g}x its 7-day P95 of {m.p95_baseline_s} s: investigate",
            f"{m.type}: P95 duration back to {m.p95_duration_s or 0} s "
            f"(7-day P95 {m.p95_baseline_s} s)",
        ))
    for run in metrics.runs:
        if not run.scheduled:
            continue
        # The last finished run: a new run under way does not clear the alert
        # before it has succeeded.
        failed = run.finished_status == "failed"
        conditions.append(Condition(
            f"{RUN_FAILED_PREFIX}{run.type}",
            failed,
            float(run.finished_failed),
            f"{run.type}: the last scheduled run failed"
            + (f" ({run.finished_error[:200]})" if run.finished_error else "")
            + f"; {run.finished_failed} items failed: check the run log",
            f"{run.type}: the last scheduled run succeeded",
        ))
    conditions.append(Condition(
        STUCK_JOBS,
        overall.stuck > stuck_limit,
        overall.stuck,
        f"{overall.stuck} stuck jobs (threshold {stuck_limit})",
        f"Stuck jobs back to {overall.stuck}",
    ))
    return conditions


def stuck_jobs_remediate(*, stuck: int) -> Remediation:
    """Expire and rescue through the platform: the same code the maintenance tasks run."""
    expired = maintenance.expire_stuck_jobs()
    rescued = maintenance.rescue_stalled_jobs()
    logger.warning("auto-remediation of %d stuck jobs: %d expired, %d rescued",
                   stuck, expired, rescued)
    return Remediation(stuck=stuck, expired=expired, rescued=rescued)


def alerts_evaluate(*, metrics: Summary | None = None) -> Evaluation:
    """Evaluate every alert once; record and send the changes.

    One evaluation at a time across the cluster (an advisory lock): two
    overlapping ones could each see the old state and both send.
    """
    with session_lock("ops:alerts") as taken:
        if not taken:
            return Evaluation(skipped=True)
        metrics = metrics or summary()
        result = Evaluation()
        conditions = alert_conditions(metrics)
        for i, condition in enumerate(conditions):
            if condition.key == STUCK_JOBS and condition.active:
                # Fixed on every evaluation while over the threshold; alerted once.
                result.remediation = stuck_jobs_remediate(stuck=int(condition.value))
                conditions[i] = replace(condition, message=(
                    f"{condition.message}: fixed automatically, "
                    f"{result.remediation.expired} expired and "
                    f"{result.remediation.rescued} rescued"))
        result.events = _record_changes(conditions)
    alert_notifications_send()
    pagerduty.pagerduty_send_pending()
    return result


def _record_changes(conditions: list[Condition]) -> list[AlertEvent]:
    now = timezone.now()
    events = []
    evaluated = {c.key for c in conditions}
    # An active alert whose subject disappeared (a type with no jobs left) clears.
    orphans = [
        Condition(state.key, False, 0.0, state.message, f"Cleared: {state.key}")
        for state in AlertState.objects.filter(active=True).exclude(key__in=evaluated)
    ]
    for condition in [*conditions, *orphans]:
        with transaction.atomic():
            state = AlertState.objects.select_for_update().filter(key=condition.key).first()
            if state is None:
                if not condition.active:
                    continue  # never fired: no state to keep
                state = AlertState(key=condition.key)
            if state.active == condition.active:
                if condition.active:
                    AlertState.objects.filter(key=state.key).update(value=condition.value)
                continue
            state.active, state.since = condition.active, now
            state.value, state.message = condition.value, condition.message
            state.save()
            events.append(AlertEvent.objects.create(
                key=condition.key,
                severity=condition.severity,
                action=AlertEvent.Action.FIRED if condition.active else AlertEvent.Action.CLEARED,
                message=condition.message if condition.active else condition.cleared,
                value=condition.value,
                pager_delivery=pagerduty.initial_delivery(condition.severity),
            ))
    return events


def slack_text(event: AlertEvent) -> str:
    if event.action == AlertEvent.Action.FIRED:
        head = f":rotating_light: [{event.severity}] {event.message}"
    else:
        head = f":white_check_mark: Resolved [{event.severity}] {event.message}"
    link = settings.OPS_DASHBOARD_URL
    return f"{head}\n<{link}|Ops dashboard>" if link else head


def alert_notifications_send(*, now: dt.datetime | None = None) -> int:
    """Send every alert event not sent yet, oldest first; returns how many were sent."""
    now = now or timezone.now()
    sent = 0
    pending = AlertEvent.objects.filter(delivery=AlertEvent.Delivery.PENDING).order_by("id")
    for event in pending[:50]:
        if now - event.created_at > DELIVERY_GIVE_UP:
            _mark(event, AlertEvent.Delivery.FAILED, "not sent within a day")
            continue
        if not slack.is_configured():
            _mark(event, AlertEvent.Delivery.SKIPPED, "Slack is not configured")
            continue
        try:
            ts = slack.post_message(channel=settings.OPS_ALERT_SLACK_CHANNEL or None,
                                    text=slack_text(event),
                                    idempotency_key=f"ops-alert:{event.id}")
        except PermanentJobError as exc:  # a wrong channel, a bad token: no retry helps
            _mark(event, AlertEvent.Delivery.FAILED, str(exc))
            logger.error("alert %s not sent to Slack: %s", event.id, exc)
            continue
        except Exception as exc:  # rate limits, timeouts, 5xx: the next evaluation retries
            AlertEvent.objects.filter(id=event.id).update(delivery_error=str(exc)[:1000])
            logger.warning("alert %s not sent to Slack yet: %s", event.id, exc)
            break  # keep the order: later alerts wait for this one
        if ts is None:  # no channel configured (OPS_ALERT_SLACK_CHANNEL / SLACK_DEFAULT_CHANNEL)
            _mark(event, AlertEvent.Delivery.SKIPPED, "no Slack channel configured")
            continue
        _mark(event, AlertEvent.Delivery.SENT, "")
        sent += 1
    return sent


def _mark(event: AlertEvent, delivery: str, error: str) -> None:
    AlertEvent.objects.filter(id=event.id).update(delivery=delivery, delivery_error=error[:1000])
    event.delivery, event.delivery_error = delivery, error
