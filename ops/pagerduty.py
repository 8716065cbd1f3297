"""Critical alerts to PagerDuty (Events API v2), for teams without Prometheus.

The built-in evaluator (ops.alerts) records one event when an alert fires and
one when it clears. Each event of a paging severity (OPS_PAGERDUTY_SEVERITIES,
`critical` by default) is marked `pager_delivery="pending"` when it is recorded,
and sent here after that transaction committed: a `trigger` when it fired, a
`resolve` when it cleared, both under the alert's own dedup key
(`plinth-jobs:<alert key>`), so PagerDuty keeps one incident per alert and a
re-sent trigger adds nothing. Events go in order; one that failed with a
retryable answer (429, 5xx, no connection) is tried again at the next
evaluation and holds the later ones back, so a resolve never overtakes its
trigger. A 400 (an invalid event or routing key) is not retried.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import requests
from django.conf import settings
from django.utils import timezone

from jobs import tracing
from ops.models import AlertEvent

logger = logging.getLogger(__name__)

PENDING, SENT, FAILED = "pending", "sent", "failed"
SOURCE = "plinth-jobs"
# A page still unsent after this long is given up (an alert a day late misleads).
GIVE_UP = dt.timedelta(days=1)
# The evaluator's severities as PagerDuty's (critical, error, warning, info).
PAGERDUTY_SEVERITY = {"critical": "critical", "warning": "warning",
                      "investigate": "warning", "remediate": "error"}


class RetryLater(Exception):
    """PagerDuty did not take the event now (429, 5xx, unreachable)."""


def is_configured() -> bool:
    return bool(settings.OPS_PAGERDUTY_ROUTING_KEY)


def initial_delivery(severity: str) -> str:
    """What a new alert event's `pager_delivery` starts as."""
    if is_configured() and severity in settings.OPS_PAGERDUTY_SEVERITIES:
        return PENDING
    return ""


def dedup_key(alert_key: str) -> str:
    return f"{SOURCE}:{alert_key}"


def event_body(event: AlertEvent) -> dict[str, Any]:
    body: dict[str, Any] = {
        "routing_key": settings.OPS_PAGERDUTY_ROUTING_KEY,
        "dedup_key": dedup_key(event.key),
    }
    if event.action == AlertEvent.Action.CLEARED:
        body["event_action"] = "resolve"
        return body
    body["event_action"] = "trigger"
    body["payload"] = {
        "summary": event.message[:1024],
        "source": SOURCE,
        "severity": PAGERDUTY_SEVERITY.get(event.severity, "error"),
        "component": "jobs",
        "group": event.key.split(":", 1)[0],
        "class": event.key,
        "timestamp": event.created_at.isoformat(),
        "custom_details": {"alert": event.key, "value": event.value,
                           "severity": event.severity},
    }
    if settings.OPS_DASHBOARD_URL:
        body["links"] = [{"href": settings.OPS_DASHBOARD_URL, "text": "Ops dashboard"}]
    return body


@tracing.traced("pagerduty enqueue", **{"peer.service": "pagerduty"})
def _post(body: dict[str, Any]) -> None:
    try:
        response = requests.post(settings.OPS_PAGERDUTY_EVENTS_URL, json=body,
                                 timeout=float(settings.INTEGRATIONS_TIMEOUT_SECONDS))
    except requests.RequestException as exc:
        raise RetryLater(f"PagerDuty unreachable: {exc}") from exc
    if response.status_code in (200, 201, 202):
        return
    text = response.text[:500]
    if response.status_code == 429 or response.status_code >= 500:
        raise RetryLater(f"PagerDuty answered {response.status_code}: {text}")
    raise ValueError(f"PagerDuty refused the event ({response.status_code}): {text}")


def pagerduty_send_pending(*, now: dt.datetime | None = None) -> int:
    """Send every alert event waiting for PagerDuty, oldest first; returns how many were sent."""
    if not is_configured():
        return 0
    now = now or timezone.now()
    sent = 0
    for event in AlertEvent.objects.filter(pager_delivery=PENDING).order_by("id")[:50]:
        if now - event.created_at > GIVE_UP:
            _mark(event, FAILED, "not sent within a day")
            continue
        try:
            _post(event_body(event))
        except RetryLater as exc:
            AlertEvent.objects.filter(id=event.id).update(pager_error=str(exc)[:1000])
            logger.warning("alert %s not sent to PagerDuty yet: %s", event.id, exc)
            break  # keep the order: a resolve must not overtake its trigger
        except ValueError as exc:
            _mark(event, FAILED, str(exc))
            logger.error("alert %s not sent to PagerDuty: %s", event.id, exc)
            continue
        _mark(event, SENT, "")
        sent += 1
    return sent


def _mark(event: AlertEvent, delivery: str, error: str) -> None:
    AlertEvent.objects.filter(id=event.id).update(pager_delivery=delivery,
                                                  pager_error=error[:1000])
