"""Each alert fires once when its condition starts, clears once when it ends, and is
sent once to a fake Slack server; more than five stuck jobs are fixed automatically."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from jobs.integrations.models import SentEffect
from jobs.locks import lock_key
from jobs.models import Job
from ops import alerts, metrics
from ops.models import AlertEvent, AlertState
from tests.fakes import server as fakes
from tests.ops.conftest import active, finished, stale_pending, stalled_running

pytestmark = pytest.mark.django_db

TWO_HOURS = dt.timedelta(hours=2)


def evaluate(now: dt.datetime | None = None) -> list[tuple[str, str]]:
    result = alerts.alerts_evaluate(metrics=metrics.summary(now=now))
    return [(e.key, e.action) for e in result.events]


def slack_posts(fake) -> list[dict]:
    return [call.json() for call in fake.calls("/api/chat.postMessage")]


def test_failure_rate_over_ten_percent_pages_once_and_clears_once(fake_slack):
    now = timezone.now()
    for _ in range(6):
        finished(now=now, status="failed")
    for _ in range(4):
        finished(now=now)

    fired = evaluate(now)
    again = evaluate(now + dt.timedelta(minutes=1))  # still 60 %: nothing new
    cleared = evaluate(now + TWO_HOURS)  # the failures left the hour
    after = evaluate(now + TWO_HOURS + dt.timedelta(minutes=1))

    # Overall, and for the one type that failed (the same rule per type).
    assert (fired, again, cleared, after) == (
        [("failure-rate", "fired"), ("failure-rate:diagnostic", "fired")], [],
        [("failure-rate", "cleared"), ("failure-rate:diagnostic", "cleared")], [])
    posts = slack_posts(fake_slack)
    assert [p["channel"] for p in posts] == ["#ops-alerts"] * 4
    assert "[critical] Failure rate 60%" in posts[0]["text"]
    assert "page on-call" in posts[0]["text"]
    assert "[critical] diagnostic: failure rate 60%" in posts[1]["text"]
    assert posts[2]["text"].startswith(":white_check_mark: Resolved [critical]")
    assert list(AlertEvent.objects.values_list("delivery", flat=True)) == ["sent"] * 4


def test_a_few_failures_are_not_a_rate(fake_slack):
    now = timezone.now()
    for _ in range(2):
        finished(now=now, status="failed")  # 100 %, but only 2 finished jobs

    assert evaluate(now) == []
    assert slack_posts(fake_slack) == []


def test_one_type_failing_every_job_pages_while_the_overall_rate_stays_under_ten_percent(
    fake_slack, settings
):
    settings.OPS_ALERT_MIN_FINISHED = 5
    now = timezone.now()
    for _ in range(5):
        finished(now=now, status="failed", type="flaky")  # 100 % of its 5
    for _ in range(91):
        finished(now=now)  # diagnostic: all fine
    for _ in range(4):
        finished(now=now, status="failed", type="rare")  # 100 %, but under the floor of 5

    data = metrics.summary(now=now)
    fired = evaluate(now)
    again = evaluate(now)
    cleared = evaluate(now + TWO_HOURS)

    # Overall 9 of 100 finished jobs failed: 9 %, under the threshold.
    assert data.overall.failure_rate == 0.09
    assert (fired, again, cleared) == (
        [("failure-rate:flaky", "fired")], [], [("failure-rate:flaky", "cleared")])
    event = AlertEvent.objects.get(action="fired")
    assert (event.severity, event.value) == ("critical", 1.0)
    assert event.message == ("flaky: failure rate 100% over the last hour (5 of 5 finished "
                             "jobs failed; threshold 10%): page on-call")
    assert len(slack_posts(fake_slack)) == 2


def test_the_floor_of_finished_jobs_is_a_setting(fake_slack, settings):
    now = timezone.now()
    for _ in range(2):
        finished(now=now, status="failed")

    settings.OPS_ALERT_MIN_FINISHED = 2
    assert evaluate(now) == [("failure-rate", "fired"), ("failure-rate:diagnostic", "fired")]


def test_queue_depth_over_fifty_warns_once_and_clears_once(fake_slack):
    now = timezone.now()
    jobs = [active(now=now) for _ in range(51)]

    fired = evaluate(now)
    again = evaluate(now)
    Job.objects.filter(id=jobs[0].id).update(status="cancelled", completed_at=now)  # 50 left
    cleared = evaluate(now)

    assert (fired, again, cleared) == (
        [("queue-depth", "fired")], [], [("queue-depth", "cleared")])
    assert AlertEvent.objects.get(action="fired").severity == "warning"
    texts = [p["text"] for p in slack_posts(fake_slack)]
    assert len(texts) == 2
    assert "Queue depth 51 pending jobs (threshold 50)" in texts[0]
    assert "Queue depth back to 50" in texts[1]


def test_fifty_pending_jobs_do_not_warn():
    now = timezone.now()
    for _ in range(50):
        active(now=now)

    assert evaluate(now) == []


def test_p95_over_twice_the_week_asks_to_investigate_once_and_clears(fake_slack):
    now = timezone.now()
    for i in range(20):  # the week's normal: 1 s
        finished(now=now, duration=1, ago=dt.timedelta(hours=3 + i))
    metrics.baselines_refresh(now=now)
    for _ in range(10):  # the last hour: 2.5 s, more than 2 x 1 s
        finished(now=now, duration=2.5)

    fired = evaluate(now)
    again = evaluate(now)
    cleared = evaluate(now + TWO_HOURS)

    assert (fired, again, cleared) == (
        [("p95:diagnostic", "fired")], [], [("p95:diagnostic", "cleared")])
    event = AlertEvent.objects.get(action="fired")
    assert (event.severity, event.value) == ("investigate", 2.5)
    assert "investigate" in slack_posts(fake_slack)[0]["text"]
    assert len(slack_posts(fake_slack)) == 2


def test_p95_under_twice_the_week_is_normal():
    now = timezone.now()
    for i in range(20):
        finished(now=now, duration=1, ago=dt.timedelta(hours=3 + i))
    metrics.baselines_refresh(now=now)
    for _ in range(10):
        finished(now=now, duration=2)  # exactly 2 x: not over

    assert evaluate(now) == []


def test_more_than_five_stuck_jobs_are_expired_automatically_and_alerted_once(fake_slack):
    stuck = stale_pending(6)

    first = alerts.alerts_evaluate()
    second = alerts.alerts_evaluate()  # fixed: the alert clears

    assert [(e.key, e.action) for e in first.events] == [("stuck-jobs", "fired")]
    assert (first.remediation.expired, first.remediation.rescued) == (6, 0)
    # Expired jobs are failed jobs (their users saw them fail), so the next
    # evaluation also pages for the failure rate.
    assert [(e.key, e.action) for e in second.events] == [
        ("failure-rate", "fired"), ("failure-rate:diagnostic", "fired"),
        ("stuck-jobs", "cleared")]
    assert second.remediation is None
    assert Job.objects.filter(id__in=[j.id for j in stuck], status="failed",
                              error_kind="expired").count() == 6
    texts = [p["text"] for p in slack_posts(fake_slack)]
    assert len(texts) == 4
    assert "6 stuck jobs (threshold 5): fixed automatically, 6 expired and 0 rescued" in texts[0]
    assert "Resolved [remediate] Stuck jobs back to 0" in texts[3]


def test_a_stalled_workers_job_is_rescued_by_the_auto_fix(fake_slack):
    stale_pending(5)
    rescued = stalled_running()

    result = alerts.alerts_evaluate()

    assert (result.remediation.stuck, result.remediation.expired,
            result.remediation.rescued) == (6, 5, 1)
    rescued.refresh_from_db()
    assert rescued.status == "pending"
    with connection.cursor() as cursor:
        cursor.execute("SELECT status FROM procrastinate_jobs WHERE id = %s",
                       [rescued.procrastinate_job_id])
        assert cursor.fetchone() == ("todo",)


def test_five_stuck_jobs_are_left_to_the_maintenance_tasks():
    stuck = stale_pending(5)

    result = alerts.alerts_evaluate()

    assert (result.events, result.remediation) == ([], None)
    assert Job.objects.filter(id__in=[j.id for j in stuck], status="pending").count() == 5


def test_a_slack_failure_is_retried_at_the_next_evaluation_and_sent_once(fake_slack):
    fake_slack.fail_next(500)
    stale_pending(6)

    alerts.alerts_evaluate()
    event = AlertEvent.objects.get()
    assert (event.delivery, "500" in event.delivery_error) == ("pending", True)
    sent = alerts.alert_notifications_send()
    sent_again = alerts.alert_notifications_send()

    event.refresh_from_db()
    assert (sent, sent_again, event.delivery) == (1, 0, "sent")
    assert len(fake_slack.calls("/api/chat.postMessage")) == 2  # the 500, then the post
    assert SentEffect.objects.filter(key=f"ops-alert:{event.id}").count() == 1


def test_a_permanent_slack_error_is_not_retried(fake_slack):
    fake_slack.enqueue(fakes.slack_error("channel_not_found"))
    stale_pending(6)

    alerts.alerts_evaluate()
    alerts.alert_notifications_send()

    event = AlertEvent.objects.get()
    assert (event.delivery, "channel_not_found" in event.delivery_error) == ("failed", True)
    assert len(fake_slack.calls("/api/chat.postMessage")) == 1


def test_with_no_channel_anywhere_alerts_are_marked_skipped(fake_slack, settings):
    settings.OPS_ALERT_SLACK_CHANNEL = ""
    settings.SLACK_DEFAULT_CHANNEL = ""
    stale_pending(6)

    alerts.alerts_evaluate()  # no channel anywhere: nothing to post to
    alerts.alert_notifications_send()

    assert AlertEvent.objects.get().delivery == "skipped"
    assert fake_slack.calls("/api/chat.postMessage") == []


def test_with_slack_unconfigured_alerts_are_kept_and_marked_skipped():
    stale_pending(6)

    alerts.alerts_evaluate()

    event = AlertEvent.objects.get()
    assert (event.key, event.delivery) == ("stuck-jobs", "skipped")
    assert AlertState.objects.get(key="stuck-jobs").active is True


def test_an_active_alert_whose_type_disappeared_clears():
    AlertState.objects.create(key="p95:retired_type", active=True, since=timezone.now(),
                              message="retired_type: P95 ...")

    assert evaluate() == [("p95:retired_type", "cleared")]


def test_one_evaluation_at_a_time(settings):
    params = connection.get_connection_params()
    stale_pending(6)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [lock_key("ops:alerts")])

        result = alerts.alerts_evaluate()

    assert (result.skipped, result.events) == (True, [])
    assert not AlertEvent.objects.exists()
