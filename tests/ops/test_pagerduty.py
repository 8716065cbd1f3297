"""Critical alerts of the built-in evaluator reach PagerDuty (Events API v2, faked at the
wire): one trigger when an alert fires, one resolve when it clears, a dedup key per alert."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from ops import alerts, metrics
from ops.models import AlertEvent
from tests.fakes.fixtures import PAGERDUTY_ROUTING_KEY
from tests.ops.conftest import active, finished

pytestmark = pytest.mark.django_db

TWO_HOURS = dt.timedelta(hours=2)


def evaluate(now: dt.datetime) -> list[tuple[str, str]]:
    result = alerts.alerts_evaluate(metrics=metrics.summary(now=now))
    return [(e.key, e.action) for e in result.events]


def sent(fake) -> list[tuple[str, str]]:
    return [(c.json()["event_action"], c.json()["dedup_key"]) for c in fake.calls("/v2/enqueue")]


def failing_hour(now: dt.datetime) -> None:
    for _ in range(6):
        finished(now=now, status="failed")
    for _ in range(4):
        finished(now=now)


def test_a_critical_alert_is_triggered_once_and_resolved_once(fake_pagerduty):
    now = timezone.now()
    failing_hour(now)

    evaluate(now)
    evaluate(now + dt.timedelta(minutes=1))  # still firing: nothing new
    evaluate(now + TWO_HOURS)  # cleared
    evaluate(now + TWO_HOURS + dt.timedelta(minutes=1))

    assert sent(fake_pagerduty) == [
        ("trigger", "plinth-jobs:failure-rate"),
        ("trigger", "plinth-jobs:failure-rate:diagnostic"),
        ("resolve", "plinth-jobs:failure-rate"),
        ("resolve", "plinth-jobs:failure-rate:diagnostic"),
    ]
    first = fake_pagerduty.calls("/v2/enqueue")[0].json()
    assert first["routing_key"] == PAGERDUTY_ROUTING_KEY
    assert first["payload"]["severity"] == "critical"
    assert first["payload"]["summary"].startswith("Failure rate 60% over the last hour")
    incidents = fake_pagerduty.pagerduty_incidents
    assert {k: (v["status"], v["triggers"]) for k, v in incidents.items()} == {
        "plinth-jobs:failure-rate": ("resolved", 1),
        "plinth-jobs:failure-rate:diagnostic": ("resolved", 1),
    }
    assert set(AlertEvent.objects.values_list("pager_delivery", flat=True)) == {"sent"}


def test_warnings_do_not_page(fake_pagerduty):
    now = timezone.now()
    for _ in range(51):
        active(now=now)

    assert evaluate(now) == [("queue-depth", "fired")]

    assert sent(fake_pagerduty) == []
    assert AlertEvent.objects.get().pager_delivery == ""


def test_the_paging_severities_are_a_setting(fake_pagerduty, settings):
    settings.OPS_PAGERDUTY_SEVERITIES = ("critical", "warning")
    now = timezone.now()
    for _ in range(51):
        active(now=now)

    evaluate(now)

    call = fake_pagerduty.calls("/v2/enqueue")[0].json()
    assert (call["event_action"], call["payload"]["severity"]) == ("trigger", "warning")


def test_a_pagerduty_outage_is_retried_in_order_and_each_event_sent_once(fake_pagerduty):
    now = timezone.now()
    failing_hour(now)
    fake_pagerduty.fail_next(503)

    evaluate(now)  # the first trigger meets a 503: both wait
    assert sent(fake_pagerduty) == [("trigger", "plinth-jobs:failure-rate")]
    assert "503" in AlertEvent.objects.filter(key="failure-rate").get().pager_error
    fake_pagerduty.fail_next(429)
    evaluate(now + dt.timedelta(minutes=1))  # rate limited: still waiting
    evaluate(now + dt.timedelta(minutes=2))

    accepted = [(c.json()["event_action"], c.json()["dedup_key"])
                for c in fake_pagerduty.calls("/v2/enqueue") if c.answer.status == 202]
    assert accepted == [("trigger", "plinth-jobs:failure-rate"),
                        ("trigger", "plinth-jobs:failure-rate:diagnostic")]
    evaluate(now + dt.timedelta(minutes=3))
    assert len(fake_pagerduty.calls("/v2/enqueue")) == 4  # nothing sent twice


def test_a_refused_event_is_not_retried(fake_pagerduty, settings):
    settings.OPS_PAGERDUTY_ROUTING_KEY = "not-the-right-key"
    now = timezone.now()
    failing_hour(now)

    evaluate(now)
    evaluate(now + dt.timedelta(minutes=1))

    assert len(fake_pagerduty.calls("/v2/enqueue")) == 2  # each tried once
    failed = AlertEvent.objects.filter(pager_delivery="failed")
    assert failed.count() == 2
    assert "Invalid routing key" in failed.first().pager_error


def test_without_a_routing_key_nothing_pages(fake_pagerduty, settings):
    settings.OPS_PAGERDUTY_ROUTING_KEY = ""
    now = timezone.now()
    failing_hour(now)

    evaluate(now)

    assert fake_pagerduty.calls() == []
    assert set(AlertEvent.objects.values_list("pager_delivery", flat=True)) == {""}
