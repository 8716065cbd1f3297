"""The job lifecycle through a real Procrastinate worker on the real database."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import transaction

from jobs import lifecycle
from jobs.models import Job, JobEvent, JobStep, Organization
from tests.conftest import drain, job_status, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def create(org: Organization, **input: Any) -> Job:
    return lifecycle.job_create(
        job_type="diagnostic",
        input=lifecycle.job_validate_input(job_type="diagnostic", input=input),
        organization=org,
    )


def test_a_job_runs_to_completed_with_its_progress_steps(org, clean_queue):
    job = create(org, steps=3)

    drain()

    job.refresh_from_db()
    assert job.status == "completed"
    assert job.progress == 100
    assert job.output == {"steps": 3, "attempt": 1}
    kinds = list(job.events.values_list("kind", flat=True))
    assert kinds == ["created", "started", "progress", "progress", "progress", "completed"]
    progress = list(job.events.filter(kind="progress").values_list("progress", flat=True))
    assert progress == [33, 66, 99]


def test_progress_is_visible_while_the_job_runs(org, background_worker):
    job = create(org, steps=4, step_seconds=0.4)
    background_worker()

    seen = set()

    def finished() -> bool:
        row = Job.objects.values("status", "progress").get(id=job.id)
        seen.add((row["status"], row["progress"]))
        return row["status"] == "completed"

    wait_for(finished, timeout=30, interval=0.05)
    running_progress = {p for s, p in seen if s == "running"}
    assert running_progress & {25, 50, 74}, seen


def test_retryable_failure_is_retried_until_it_succeeds(org, clean_queue):
    job = create(org, steps=2, fail="retryable", fail_times=2)

    drain()

    job.refresh_from_db()
    assert job.status == "completed"
    assert job.attempts == 3
    kinds = list(job.events.values_list("kind", flat=True))
    assert kinds.count("retry_scheduled") == 2


def test_completed_steps_do_not_run_again_on_retry(org, clean_queue):
    job = create(org, steps=3, fail="retryable", fail_times=1)

    drain()

    job.refresh_from_db()
    assert job.status == "completed" and job.attempts == 2
    assert list(JobStep.objects.filter(job=job).values_list("attempt", flat=True)) == [1, 1, 1]


def test_permanent_failure_fails_at_once(org, clean_queue):
    job = create(org, fail="permanent")

    drain()

    job.refresh_from_db()
    assert job.status == "failed"
    assert job.attempts == 1
    assert job.error_kind == "permanent"
    assert "permanent" in job.error


def test_retries_run_out_with_the_seed_message(org, clean_queue):
    job = create(org, steps=1, fail="retryable", fail_times=99)

    drain()

    job.refresh_from_db()
    assert job.status == "failed"
    assert job.attempts == 4
    assert job.error.startswith("Failed after 3 retries: Diagnostic failure on attempt 4")


def test_a_rollback_leaves_neither_job_nor_queue_entry(org, clean_queue):
    from django.db import connection

    with pytest.raises(RuntimeError), transaction.atomic():
        create(org)
        raise RuntimeError("roll back")

    assert Job.objects.count() == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_jobs")
        assert cursor.fetchone()[0] == 0


def test_creating_a_job_queues_exactly_one_procrastinate_job(org, clean_queue):
    from django.db import connection

    job = create(org)

    with connection.cursor() as cursor:
        cursor.execute("SELECT id, task_name, args FROM procrastinate_jobs")
        rows = cursor.fetchall()
    assert len(rows) == 1
    assert rows[0][0] == job.procrastinate_job_id
    assert rows[0][1] == "jobs.run"
    assert json.loads(rows[0][2]) == {"job_id": str(job.id)}


def test_cancelling_a_pending_job_is_immediate_and_it_never_runs(org, clean_queue):
    job = create(org)

    lifecycle.job_cancel(job.id, actor="test")
    drain()

    job.refresh_from_db()
    assert job.status == "cancelled"
    assert not job.events.filter(kind="started").exists()


def test_cancelling_a_running_job_stops_it_at_its_next_check(org, background_worker):
    job = create(org, steps=50, step_seconds=0.2)
    background_worker()
    wait_for(lambda: Job.objects.get(id=job.id).progress >= 2)

    lifecycle.job_cancel(job.id, actor="test")

    wait_for(lambda: job_status(job.id) == "cancelled", timeout=15)
    job.refresh_from_db()
    assert job.progress < 90
    assert JobEvent.objects.filter(job=job, kind="cancel_requested").count() == 1
    from django.db import connection

    def queue_status() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT status FROM procrastinate_jobs WHERE id = %s",
                           [job.procrastinate_job_id])
            return cursor.fetchone()[0]

    assert wait_for(lambda: queue_status() == "aborted", timeout=10)


def _writes_on_complete(ctx):
    from jobs.models import Organization as Org

    ctx.step("work", lambda: ctx.check_abort())
    ctx.on_complete(lambda: Org.objects.filter(id=ctx.job.organization_id).update(name="written"))
    if ctx.input.get("cancel_first"):
        from jobs.lifecycle import job_cancel

        job_cancel(ctx.job_id, actor="test")  # cancelled while finishing
    return {"ok": True}


from jobs import registry as _registry  # noqa: E402

_registry.register(_registry.JobType(name="test_on_complete", handler=_writes_on_complete,
                                     public=False))


def test_completion_writes_commit_with_the_completed_status(org, clean_queue):
    job = lifecycle.job_create(job_type="test_on_complete", input={}, organization=org)

    drain()

    org.refresh_from_db()
    assert job_status(job.id) == "completed" and org.name == "written"


def _refusing_completion(ctx):
    from jobs.errors import PermanentJobError
    from jobs.models import Organization as Org

    def write():
        Org.objects.filter(id=ctx.job.organization_id).update(name="half-written")
        raise PermanentJobError("Block not found")

    ctx.on_complete(write)
    return {"ok": True}


_registry.register(_registry.JobType(name="test_refusing_completion",
                                     handler=_refusing_completion, public=False))


def test_a_completion_write_that_refuses_fails_the_job_and_rolls_back(org, clean_queue):
    job = lifecycle.job_create(job_type="test_refusing_completion", input={}, organization=org)

    drain()

    job.refresh_from_db()
    org.refresh_from_db()
    assert (job.status, job.attempts, job.error_kind) == ("failed", 1, "permanent")
    assert job.error == "Block not found" and job.output is None
    assert org.name == "Acme"


def test_completion_writes_roll_back_when_the_job_was_cancelled_meanwhile(org, clean_queue):
    job = lifecycle.job_create(job_type="test_on_complete", input={"cancel_first": True},
                               organization=org)

    drain()

    org.refresh_from_db()
    assert job_status(job.id) == "cancelled"
    assert org.name == "Acme"
