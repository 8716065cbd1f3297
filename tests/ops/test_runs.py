"""What seed 003's run logs and seed 000's generation log say, in the ops figures:
the last run per type, roadmap generations per day, gauges, and the run-failed alert."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from jobs.models import Organization, RunLog
from ops import alerts, metrics
from ops.models import AlertEvent
from roadmap.models import Project, RoadmapGenerationLog
from tests.ops.test_views import samples, scrape

pytestmark = pytest.mark.django_db


def run(job_type: str, *, status: str, ago: dt.timedelta, now: dt.datetime,
        processed: int = 0, failed: int = 0, errors: list[str] | None = None,
        duration_ms: int = 0) -> RunLog:
    """A run log started `ago` before `now` (started_at is auto_now_add: set by UPDATE)."""
    log = RunLog.objects.create(job_type=job_type, status=status, processed=processed,
                                failed=failed, errors=errors or [], duration_ms=duration_ms)
    started = now - ago
    RunLog.objects.filter(id=log.id).update(
        started_at=started,
        finished_at=None if status == "running" else started + dt.timedelta(
            milliseconds=duration_ms))
    log.refresh_from_db()
    return log


def history(now: dt.datetime) -> None:
    hour, day = dt.timedelta(hours=1), dt.timedelta(days=1)
    # Forecasts: a success two days ago, then a failed last run an hour ago.
    run("warmup-forecasts", status="success", ago=2 * day, now=now, processed=50)
    run("warmup-forecasts", status="failed", ago=hour, now=now, processed=3, failed=2,
        errors=["c1: boom", "c2: bang"], duration_ms=1500)
    # AI explanations: failed three hours ago, a new run under way for ten minutes.
    run("warmup-ai-explanations", status="failed", ago=3 * hour, now=now, failed=4,
        errors=["Stopped: lock lost"], duration_ms=9000)
    run("warmup-ai-explanations", status="running", ago=dt.timedelta(minutes=10), now=now,
        processed=1)
    # On demand (not scheduled): a failure, then a success five minutes ago.
    run("warmup-on-demand", status="failed", ago=hour, now=now, failed=1, errors=["x"])
    run("warmup-on-demand", status="success", ago=dt.timedelta(minutes=5), now=now,
        processed=2, duration_ms=120)
    # themes.schedule_scans is scheduled and has never run.


def test_the_last_run_of_each_type_with_its_counts_and_age(settings):
    settings.OPS_SCHEDULED_RUN_TYPES = (
        "warmup-forecasts", "warmup-ai-explanations", "themes.schedule_scans")
    now = timezone.now()
    history(now)

    runs = {r.type: r for r in metrics.run_logs_summary(now=now)}

    assert list(runs) == ["themes.schedule_scans", "warmup-ai-explanations",
                          "warmup-forecasts", "warmup-on-demand"]
    forecasts = runs["warmup-forecasts"]
    assert (forecasts.scheduled, forecasts.status, forecasts.last_failed) == (
        True, "failed", True)
    assert (forecasts.processed, forecasts.failed, forecasts.duration_ms) == (3, 2, 1500)
    assert (forecasts.age_s, forecasts.error) == (3600.0, "c1: boom")
    assert (forecasts.finished_status, forecasts.finished_failed) == ("failed", 2)
    ai = runs["warmup-ai-explanations"]
    assert (ai.status, ai.last_failed, ai.age_s, ai.processed, ai.finished_at) == (
        "running", False, 600.0, 1, None)
    # The last finished run is still the failed one.
    assert (ai.finished_status, ai.finished_failed, ai.finished_error) == (
        "failed", 4, "Stopped: lock lost")
    on_demand = runs["warmup-on-demand"]
    assert (on_demand.scheduled, on_demand.status, on_demand.age_s, on_demand.processed) == (
        False, "success", 300.0, 2)
    never = runs["themes.schedule_scans"]
    assert (never.scheduled, never.status, never.age_s) == (True, "", None)


def generation(project: Project, *, at: dt.datetime, ms: int, tokens: int, ok: bool) -> None:
    log = RoadmapGenerationLog.objects.create(project=project, generation_time_ms=ms,
                                              gpt4_tokens_used=tokens, success=ok)
    RoadmapGenerationLog.objects.filter(id=log.id).update(created_at=at)


def generations(now: dt.datetime) -> tuple[dt.date, dt.date]:
    """Two days of generations in two organizations, and one past the 30 days."""
    acme = Project.objects.create(organization=Organization.objects.create(
        name="Acme", slug="acme-ops"), name="A")
    globex = Project.objects.create(organization=Organization.objects.create(
        name="Globex", slug="globex-ops"), name="G")
    recent = (now - dt.timedelta(days=2)).replace(hour=12, minute=0)
    older = (now - dt.timedelta(days=10)).replace(hour=3, minute=0)
    generation(acme, at=recent, ms=1000, tokens=100, ok=True)
    generation(globex, at=recent + dt.timedelta(hours=1), ms=2000, tokens=200, ok=True)
    generation(acme, at=recent + dt.timedelta(hours=2), ms=6000, tokens=0, ok=False)
    generation(globex, at=older, ms=500, tokens=50, ok=True)
    generation(acme, at=now - dt.timedelta(days=31), ms=99, tokens=999, ok=True)
    return recent.date(), older.date()


def test_roadmap_generations_per_day_over_30_days_in_every_organization():
    now = timezone.now().astimezone(dt.UTC)
    recent, older = generations(now)

    days = [(d.date, d.runs, d.avg_time_ms, d.total_tokens, d.successful_runs)
            for d in metrics.roadmap_generations(now=now)]

    # Newest first; 3 runs of 1000, 2000 and 6000 ms average 3000.
    assert days == [(recent, 3, 3000.0, 300, 2), (older, 1, 500.0, 50, 1)]


def test_the_figures_reach_the_api_the_dashboard_and_prometheus(make_user, org, settings):
    settings.OPS_SCHEDULED_RUN_TYPES = (
        "warmup-forecasts", "warmup-ai-explanations", "themes.schedule_scans")
    now = timezone.now()
    history(now)
    recent, _ = generations(now.astimezone(dt.UTC))
    staff = make_user(org, is_staff=True)
    api = APIClient()
    api.force_authenticate(staff)

    data = api.get("/api/ops/summary").json()

    runs = {r["type"]: r for r in data["runs"]}
    assert (runs["warmup-forecasts"]["status"], runs["warmup-forecasts"]["last_failed"],
            runs["warmup-forecasts"]["processed"], runs["warmup-forecasts"]["failed"]) == (
        "failed", True, 3, 2)
    assert 3600 <= runs["warmup-forecasts"]["age_s"] < 3700
    assert runs["themes.schedule_scans"]["status"] == ""
    assert data["roadmap"][0] == {"date": recent.isoformat(), "runs": 3, "avg_time_ms": 3000.0,
                                  "total_tokens": 300, "successful_runs": 2}

    client = Client()
    client.force_login(staff)
    html = client.get("/ops/").content.decode()
    assert 'id="runs"' in html and 'id="roadmap-generations"' in html
    assert '<tr id="run-warmup-forecasts">' in html
    assert '<td class="bad">failed</td>' in html and "never run" in html
    assert "c1: boom" in html

    families = scrape(Client(), HTTP_AUTHORIZATION="Bearer metrics-token")
    assert samples(families["plinth_run_last_failed"]) == {
        "warmup-forecasts": 1.0, "warmup-ai-explanations": 0.0, "warmup-on-demand": 0.0}
    assert samples(families["plinth_run_last_running"])["warmup-ai-explanations"] == 1.0
    ages = samples(families["plinth_run_last_age_seconds"])
    assert 3600 <= ages["warmup-forecasts"] < 3700 and 600 <= ages["warmup-ai-explanations"] < 700
    assert samples(families["plinth_run_last_processed"])["warmup-on-demand"] == 2.0
    assert samples(families["plinth_run_last_failed_items"])["warmup-forecasts"] == 2.0
    assert "themes.schedule_scans" not in samples(families["plinth_run_last_failed"])
    assert families["plinth_roadmap_generation_runs_30d"].samples[0].value == 4.0
    assert families["plinth_roadmap_generation_successful_runs_30d"].samples[0].value == 3.0
    assert families["plinth_roadmap_generation_tokens_30d"].samples[0].value == 350.0
    # (1000 + 2000 + 6000 + 500) / 4
    assert families["plinth_roadmap_generation_avg_ms_30d"].samples[0].value == 2375.0


def events(now: dt.datetime) -> list[tuple[str, str]]:
    result = alerts.alerts_evaluate(metrics=metrics.summary(now=now))
    assert not result.skipped  # another evaluation held the ops:alerts lock
    return [(e.key, e.action) for e in result.events]


def test_a_run_skipped_for_a_held_lock_neither_raises_nor_clears_the_alert(
    settings, fake_slack
):
    settings.OPS_SCHEDULED_RUN_TYPES = ("warmup-forecasts",)
    now = timezone.now()
    minute = dt.timedelta(minutes=1)
    run("warmup-forecasts", status="success", ago=10 * minute, now=now, processed=50)
    run("warmup-forecasts", status="skipped", ago=5 * minute, now=now)

    after_skip = events(now)
    run("warmup-forecasts", status="failed", ago=3 * minute, now=now, failed=1, errors=["x"])
    after_failure = events(now)
    run("warmup-forecasts", status="skipped", ago=minute, now=now)
    after_second_skip = events(now)

    forecasts = next(r for r in metrics.run_logs_summary(now=now)
                     if r.type == "warmup-forecasts")
    assert (forecasts.status, forecasts.last_failed, forecasts.finished_status) == (
        "skipped", False, "failed")
    assert after_skip == []
    assert after_failure == [("run-failed:warmup-forecasts", "fired")]
    assert after_second_skip == []  # still raised: a skipped run proves nothing


def test_a_failed_last_scheduled_run_alerts_once_and_clears_when_a_run_succeeds(
    settings, fake_slack
):
    settings.OPS_SCHEDULED_RUN_TYPES = ("warmup-forecasts", "warmup-ai-explanations")
    now = timezone.now()
    history(now)

    fired = events(now)
    again = events(now + dt.timedelta(minutes=1))
    # The AI warmup's new run finishes well; the forecasts run again and fails again.
    RunLog.objects.filter(job_type="warmup-ai-explanations", status="running").update(
        status="success", finished_at=now)
    run("warmup-forecasts", status="failed", ago=dt.timedelta(minutes=1), now=now, failed=1)
    after_ai = events(now)
    run("warmup-forecasts", status="success", ago=dt.timedelta(0), now=now, processed=50)
    after_forecasts = events(now)

    # The on-demand warmup is not scheduled: its failures never alert.
    assert fired == [("run-failed:warmup-ai-explanations", "fired"),
                     ("run-failed:warmup-forecasts", "fired")]
    assert again == []
    assert after_ai == [("run-failed:warmup-ai-explanations", "cleared")]
    assert after_forecasts == [("run-failed:warmup-forecasts", "cleared")]
    event = AlertEvent.objects.get(key="run-failed:warmup-forecasts", action="fired")
    assert (event.severity, event.value) == ("warning", 2.0)
    assert event.message == ("warmup-forecasts: the last scheduled run failed (c1: boom); "
                             "2 items failed: check the run log")
    posts = [c.json()["text"] for c in fake_slack.calls("/api/chat.postMessage")]
    assert len(posts) == 4 and posts[1].startswith(":rotating_light: [warning] warmup-forecasts")
