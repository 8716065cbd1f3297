"""The attempt fencing token: a write by an attempt that is no longer the job's
changes nothing, for every kind of write an attempt makes (the README,
"Attempts are fenced").

Each test starts an attempt, moves the job on to another one (a rescue, or an
expiry then a retry), and makes the old attempt's write: the job row, its
events, steps, effects, run logs and queue rows are as the new attempt left them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from jobs import lifecycle, maintenance, registry, runlogs, runtime
from jobs.errors import JobAbort
from jobs.models import DiagnosticEffect, Job, JobEvent, JobStep, RunLog
from tests.conftest import create_diagnostic as create
from tests.conftest import drain

pytestmark = pytest.mark.django_db(transaction=True)



def queue_status(pid: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT status FROM procrastinate_jobs WHERE id = %s", [pid])
        return cursor.fetchone()[0]


def take_queue_row(pid: int) -> None:
    """What a worker's fetch does to the row it takes."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE procrastinate_jobs SET status = 'doing' WHERE id = %s", [pid])


def snapshot(job_id: Any) -> tuple[Any, ...]:
    job = Job.objects.get(id=job_id)
    return (
        job.status, job.progress, job.status_message, job.output, job.error,
        job.attempts, job.procrastinate_job_id, job.cancel_requested_at, job.completed_at,
        JobEvent.objects.filter(job_id=job_id).count(),
        JobStep.objects.filter(job_id=job_id).count(),
        DiagnosticEffect.objects.filter(job_id=job_id).count(),
    )


@pytest.fixture(params=["rescued", "expired-then-retried"])
def stale(request: Any, org: Any, clean_queue: None) -> tuple[Job, Job]:
    """(the old attempt's job as it started, the job now running a newer attempt).

    Rescued: the new attempt is attempt 2. Expired then retried by staff: the
    new attempt is "attempt 1" again, so only the token tells them apart.
    """
    job = create(org, steps=2, effect=True)
    assert job.procrastinate_job_id is not None
    take_queue_row(job.procrastinate_job_id)
    old = lifecycle.job_start(job.id, job.procrastinate_job_id)
    assert old is not None and old.attempts == 1
    if request.param == "rescued":
        moved = lifecycle.job_rescue(job.id, token=old.procrastinate_job_id, reason="test")
    else:
        lifecycle.job_expire(job.id, reason="too long", token=old.procrastinate_job_id)
        moved = lifecycle.job_retry(job.id, enforce_limits=False)
    assert moved is not None
    new = lifecycle.job_start(job.id, moved.procrastinate_job_id)
    assert new is not None
    assert new.procrastinate_job_id is not None and old.procrastinate_job_id is not None
    assert new.procrastinate_job_id > old.procrastinate_job_id
    assert new.attempts == (2 if request.param == "rescued" else 1)
    return old, new


def test_a_rescue_gives_the_job_a_new_queue_row_and_ends_the_stalled_one(org, clean_queue):
    job = create(org)
    take_queue_row(job.procrastinate_job_id)
    old = lifecycle.job_start(job.id, job.procrastinate_job_id)
    new = lifecycle.job_rescue(job.id, token=old.procrastinate_job_id, reason="test")
    assert queue_status(old.procrastinate_job_id) == "aborted"
    assert queue_status(new.procrastinate_job_id) == "todo"
    assert JobEvent.objects.filter(job_id=new.id, kind="rescued").count() == 1
    # A rescue for a token that is no longer the job's does nothing.
    assert lifecycle.job_rescue(job.id, token=old.procrastinate_job_id, reason="again") is None


def test_a_stale_token_cannot_start_the_job(org, clean_queue):
    job = create(org)
    old_token = job.procrastinate_job_id
    take_queue_row(old_token)
    rescued = lifecycle.job_rescue(job.id, token=old_token, reason="fetched, then froze")
    before = snapshot(job.id)

    assert lifecycle.job_start(job.id, old_token) is None
    assert snapshot(job.id) == before
    assert lifecycle.job_start(job.id, rescued.procrastinate_job_id) is not None


@pytest.mark.parametrize("write", [
    "progress", "complete", "schedule_retry", "fail", "mark_cancelled", "requeue", "expire",
])
def test_a_stale_attempts_transition_changes_nothing(stale, write):
    old, new = stale
    before = snapshot(new.id)
    kwargs = {"attempt": old.attempts, "token": old.procrastinate_job_id}
    call = {
        "progress": lambda: lifecycle.job_progress(new.id, progress=50, message="x", **kwargs),
        "complete": lambda: lifecycle.job_complete(new.id, output={"stale": True}, **kwargs),
        "schedule_retry": lambda: lifecycle.job_schedule_retry(
            new.id, error="e", kind="retryable", retry_at=timezone.now(), **kwargs),
        "fail": lambda: lifecycle.job_fail(new.id, error="e", kind="internal", **kwargs),
        "mark_cancelled": lambda: lifecycle.job_mark_cancelled(new.id, **kwargs),
        "requeue": lambda: lifecycle.job_requeue(new.id, reason="shutdown", **kwargs),
        "expire": lambda: lifecycle.job_expire(new.id, reason="timeout", **kwargs),
    }[write]

    assert call() is None
    assert snapshot(new.id) == before
    # The same write with the current token does change the job.
    kwargs = {"attempt": new.attempts, "token": new.procrastinate_job_id}
    assert call() is not None


def _context(job: Job) -> runtime.JobContext:
    return runtime.JobContext(job, registry.get(job.type), None)


def test_a_stale_attempt_neither_runs_nor_stores_a_step(stale):
    old, new = stale
    ran: list[str] = []
    old_ctx, new_ctx = _context(old), _context(new)
    before = snapshot(new.id)

    with pytest.raises(JobAbort):
        old_ctx.step("s1", lambda: ran.append("old") or "old")

    assert ran == [] and snapshot(new.id) == before
    assert new_ctx.step("s1", lambda: ran.append("new") or "new") == "new"
    assert list(JobStep.objects.filter(job_id=new.id).values_list("name", "result")) == [
        ("s1", "new")]
    # A current attempt gets a stored step back without running it again.
    assert _context(new).step("s1", lambda: ran.append("again") or "again") == "new"
    assert ran == ["new"]


def test_a_step_the_stale_attempt_finished_after_losing_the_job_is_not_stored(stale):
    old, new = stale
    old_ctx = _context(old)
    # The old attempt checked before the rescue and resumes inside its step.
    Job.objects.filter(id=new.id).update(procrastinate_job_id=old.procrastinate_job_id)
    moved_on = new.procrastinate_job_id

    def step() -> str:
        Job.objects.filter(id=new.id).update(procrastinate_job_id=moved_on)
        return "late"

    with pytest.raises(JobAbort):
        old_ctx.step("s1", step)
    assert not JobStep.objects.filter(job_id=new.id).exists()


def test_a_stale_attempts_completion_writes_and_effect_do_not_happen(stale):
    old, new = stale
    old_ctx = _context(old)
    writes: list[str] = []
    old_ctx.on_complete(lambda: writes.append("domain write"))
    old_ctx.on_complete(
        lambda: DiagnosticEffect.objects.create(job_id=old.id, attempt=old.attempts))
    before = snapshot(new.id)

    assert runtime._complete_with_writes(old_ctx, {"stale": True}) is None

    assert writes == [] and snapshot(new.id) == before
    new_ctx = _context(new)
    new_ctx.on_complete(
        lambda: DiagnosticEffect.objects.create(job_id=new.id, attempt=new.attempts))
    assert runtime._complete_with_writes(new_ctx, {"ok": True}) is not None
    assert DiagnosticEffect.objects.filter(job_id=new.id).count() == 1


def test_expire_then_retry_refuses_the_expired_attempts_writes_though_attempts_restart(
    org, clean_queue
):
    job = create(org, steps=1)
    take_queue_row(job.procrastinate_job_id)
    old = lifecycle.job_start(job.id, job.procrastinate_job_id)
    assert lifecycle.job_expire(job.id, reason="too long", token=old.procrastinate_job_id,
                                attempt=old.attempts) is not None
    retried = lifecycle.job_retry(job.id, enforce_limits=False)
    assert retried.procrastinate_job_id > old.procrastinate_job_id
    new = lifecycle.job_start(job.id, retried.procrastinate_job_id)
    # "attempt 1 of N" again for the user; the token tells the attempts apart.
    assert new.attempts == old.attempts == 1
    before = snapshot(job.id)

    kwargs = {"attempt": old.attempts, "token": old.procrastinate_job_id}
    assert lifecycle.job_progress(job.id, progress=90, **kwargs) is None
    assert lifecycle.job_mark_cancelled(job.id, **kwargs) is None
    assert lifecycle.job_complete(job.id, output={"stale": True}, **kwargs) is None
    assert lifecycle.job_expire(job.id, reason="worker timeout", **kwargs) is None
    assert snapshot(job.id) == before


def test_maintenance_expiry_expires_only_the_attempt_it_found(org, clean_queue):
    job = create(org, steps=1)
    take_queue_row(job.procrastinate_job_id)
    old = lifecycle.job_start(job.id, job.procrastinate_job_id)
    Job.objects.filter(id=job.id).update(started_at=timezone.now() - dt.timedelta(hours=1))
    # Between maintenance's select and its expiry, the job moved to a new attempt.
    rescued = lifecycle.job_rescue(job.id, token=old.procrastinate_job_id, reason="test")
    lifecycle.job_start(job.id, rescued.procrastinate_job_id)
    Job.objects.filter(id=job.id).update(started_at=timezone.now() - dt.timedelta(hours=1))

    assert maintenance._expire(job.id, token=old.procrastinate_job_id, attempt=old.attempts,
                               from_statuses=["running"], reason="old") is None
    assert Job.objects.get(id=job.id).status == "running"
    assert maintenance.expire_stuck_jobs() == 1  # the current attempt, found now


def test_tokens_only_grow_across_create_rescue_retry(org, clean_queue):
    job = create(org, steps=1)
    tokens = [job.procrastinate_job_id]
    take_queue_row(tokens[-1])
    lifecycle.job_start(job.id, tokens[-1])
    tokens.append(lifecycle.job_rescue(job.id, token=tokens[-1], reason="r").procrastinate_job_id)
    take_queue_row(tokens[-1])
    lifecycle.job_start(job.id, tokens[-1])
    lifecycle.job_fail(job.id, attempt=None, error="e", kind="permanent")
    tokens.append(lifecycle.job_retry(job.id, enforce_limits=False).procrastinate_job_id)
    assert tokens == sorted(set(tokens))
    drain()
    job.refresh_from_db()
    assert job.status == "completed" and job.procrastinate_job_id == tokens[-1]
    assert queue_status(tokens[-1]) == "succeeded"


def test_a_stale_attempts_run_log_changes_nothing(stale):
    old, new = stale
    stale_log = runlogs.run_log_start(job_type="warmup", job=old)
    assert stale_log.pk is None  # started after losing the job: never saved
    runlogs.run_log_count(stale_log, ok=True)
    assert runlogs.run_log_flush(stale_log) is False
    runlogs.run_log_finish(stale_log, status=RunLog.Status.SUCCESS)
    assert not RunLog.objects.exists()

    current = runlogs.run_log_start(job_type="warmup", job=new)
    assert current.pk is not None and current.attempt_token == new.procrastinate_job_id


def test_a_late_run_log_finish_keeps_the_sweeps_worker_lost(org, clean_queue):
    job = create(org, steps=1)
    take_queue_row(job.procrastinate_job_id)
    old = lifecycle.job_start(job.id, job.procrastinate_job_id)
    log = runlogs.run_log_start(job_type="warmup", job=old)
    lifecycle.job_rescue(job.id, token=old.procrastinate_job_id, reason="worker died")
    assert runlogs.run_logs_sweep() == 1

    runlogs.run_log_count(log, ok=True)
    finished = runlogs.run_log_finish(log, status=RunLog.Status.SUCCESS)

    assert finished.status == RunLog.Status.FAILED
    row = RunLog.objects.get(id=log.id)
    assert row.status == RunLog.Status.FAILED and runlogs.WORKER_LOST in row.errors
    assert row.processed == 0


def test_a_run_log_of_an_attempt_superseded_while_running_is_swept_and_refused(stale):
    old, new = stale
    # A log the old attempt wrote before it lost the job (as if started then).
    log = RunLog.objects.create(job_id=old.id, job_type="warmup",
                                attempt_token=old.procrastinate_job_id)
    assert runlogs.run_logs_sweep() == 1  # the job runs, but another attempt
    log.status = RunLog.Status.RUNNING
    assert runlogs.run_log_flush(log) is False


# --- Maintenance never waits on a frozen worker ------------------------------


def test_sessions_have_a_server_side_idle_in_transaction_limit(clean_queue):
    with connection.cursor() as cursor:
        cursor.execute("SHOW idle_in_transaction_session_timeout")
        assert cursor.fetchone()[0] == "1min"


def test_rescue_skips_rows_a_frozen_worker_holds_and_rescues_the_others(org, clean_queue):
    import time

    import psycopg

    held, free = create(org), create(org)
    for job in (held, free):
        take_queue_row(job.procrastinate_job_id)
        lifecycle.job_start(job.id, job.procrastinate_job_id)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO procrastinate_workers (last_heartbeat) "
                       "VALUES (now() - interval '1 hour') RETURNING id")
        (worker_id,) = cursor.fetchone()
        cursor.execute("UPDATE procrastinate_jobs SET worker_id = %s", [worker_id])
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    # A frozen worker: an open transaction holding its queue row, its job row
    # and its worker row.
    with psycopg.connect(**params) as frozen:
        frozen.execute("SELECT 1 FROM procrastinate_jobs WHERE id = %s FOR UPDATE",
                       [held.procrastinate_job_id])
        frozen.execute("SELECT 1 FROM jobs_job WHERE id = %s FOR UPDATE", [held.id])
        frozen.execute("SELECT 1 FROM procrastinate_workers WHERE id = %s FOR UPDATE",
                       [worker_id])
        started = time.monotonic()
        rescued = maintenance.rescue_stalled_jobs(seconds_since_heartbeat=60)
        took = time.monotonic() - started
        frozen.rollback()

    assert rescued == 1 and took < 2.0
    assert Job.objects.get(id=free.id).status == "pending"
    assert Job.objects.get(id=held.id).status == "running"  # the next rescue's
    assert maintenance.rescue_stalled_jobs(seconds_since_heartbeat=60) == 1
    assert Job.objects.get(id=held.id).status == "pending"
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_workers")
        assert cursor.fetchone()[0] == 0


# --- A write whose reply was lost (a database restart) -----------------------


def test_a_start_whose_reply_was_lost_starts_again_on_the_same_token_only(org, clean_queue):
    job = create(org)
    token = job.procrastinate_job_id
    take_queue_row(token)
    assert lifecycle.job_start(job.id, token).attempts == 1  # committed; reply lost

    again = lifecycle.job_start(job.id, token)  # the row re-run (RetryLater)

    assert again is not None and again.status == "running" and again.attempts == 2
    assert lifecycle.job_start(job.id, token + 1000) is None
    assert lifecycle.job_start(job.id) is None  # no token: only from pending


def test_a_retry_whose_reply_was_lost_still_retries_the_queue_row(org, clean_queue):
    from jobs.errors import RetryableJobError

    job = create(org)
    take_queue_row(job.procrastinate_job_id)
    started = lifecycle.job_start(job.id, job.procrastinate_job_id)
    ctx = _context(started)
    error = RetryableJobError("flaky")
    with pytest.raises(runtime.RetryLater):
        runtime._on_error(ctx, error)  # the write commits...
    with pytest.raises(runtime.RetryLater):  # ...and, its reply lost, is tried again
        runtime._on_error(ctx, error)
    assert Job.objects.get(id=job.id).status == "pending"
    # Another attempt's token: no retry of a row that is not the job's.
    stale_ctx = _context(started)
    stale_ctx.token = job.procrastinate_job_id + 1000
    assert runtime._on_error(stale_ctx, error) is None
