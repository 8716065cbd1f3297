"""The transitions themselves (jobs/lifecycle.py), without a worker: what each
writes to the job row, its events and its queue row."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from jobs import jobsql, lifecycle
from jobs.models import Job, JobEvent
from tests.conftest import create_diagnostic as create

pytestmark = pytest.mark.django_db(transaction=True)



def queue_row(pid: int) -> tuple[str, bool]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, abort_requested FROM procrastinate_jobs WHERE id = %s", [pid]
        )
        return cursor.fetchone()


def events(job_id: Any) -> list[tuple[str, str, str]]:
    return list(
        JobEvent.objects.filter(job_id=job_id)
        .order_by("id")
        .values_list("kind", "from_status", "to_status")
    )


def test_partial_output_is_a_draft_cleared_at_completion(org, clean_queue):
    job = create(org, steps=0)
    token = job.procrastinate_job_id
    started = lifecycle.job_start(job.id, token)
    assert started is not None and started.status == "running"
    lifecycle.job_partial_output(job.id, attempt=1, token=token, text="The answer is")
    assert Job.objects.get(id=job.id).partial_output == "The answer is"

    output = {"text": "The answer is 42"}
    done = lifecycle.job_complete(job.id, attempt=1, token=token, output=output)

    assert done is not None and done.partial_output == ""
    row = Job.objects.get(id=job.id)
    assert (row.status, row.output, row.partial_output) == (
        "completed", {"text": "The answer is 42"}, ""
    )
    assert events(job.id) == [
        ("created", "", "pending"),
        ("started", "pending", "running"),
        ("output", "running", "running"),
        ("completed", "running", "completed"),
    ]


def test_a_new_attempt_starts_without_the_last_attempts_partial_output(org, clean_queue):
    job = create(org, steps=0)
    token = job.procrastinate_job_id
    lifecycle.job_start(job.id, token)
    lifecycle.job_partial_output(job.id, attempt=1, token=token, text="half a sent")
    lifecycle.job_schedule_retry(
        job.id, attempt=1, token=token, error="boom", kind="retryable",
        retry_at=Job.objects.get(id=job.id).available_at,
    )
    assert Job.objects.get(id=job.id).partial_output == "half a sent"

    again = lifecycle.job_start(job.id, token)

    assert again is not None and (again.attempts, again.partial_output) == (2, "")


def test_the_transition_result_carries_the_status_it_left(org, clean_queue):
    job = create(org, steps=0)
    result = jobsql.transition(
        job.id, from_statuses=["pending"], kind=JobEvent.Kind.STARTED,
        sets={"status": "running"}, raw_sets=["attempts = attempts + 1"],
    )
    assert result is not None
    assert (result.from_status, result.job.status, result.job.attempts) == (
        "pending", "running", 1
    )
    assert JobEvent.objects.get(id=result.event_id).kind == "started"
    # Not in a `from_statuses` status: nothing written, no event.
    assert jobsql.transition(
        job.id, from_statuses=["pending"], kind=JobEvent.Kind.STARTED, sets={}
    ) is None
    assert len(events(job.id)) == 2


def test_expiry_cancels_a_pending_jobs_queue_row_and_aborts_a_running_ones(org, clean_queue):
    pending = create(org, steps=0)
    running = create(org, steps=0)
    lifecycle.job_start(running.id, running.procrastinate_job_id)
    with connection.cursor() as cursor:  # what a worker's fetch does to the row it takes
        cursor.execute(
            "UPDATE procrastinate_jobs SET status = 'doing' WHERE id = %s",
            [running.procrastinate_job_id],
        )

    lifecycle.job_expire(pending.id, reason="too old")
    lifecycle.job_expire(running.id, reason="too long")

    assert queue_row(pending.procrastinate_job_id) == ("cancelled", False)
    assert queue_row(running.procrastinate_job_id) == ("doing", True)
    assert {j.status for j in Job.objects.filter(id__in=[pending.id, running.id])} == {"failed"}
