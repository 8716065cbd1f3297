"""Django's task API on the platform: a third-party @task module (tests.thirdparty_tasks,
not an installed app) enqueued through TASKS, run by real Procrastinate workers."""

from __future__ import annotations

import datetime as dt

import pytest
from asgiref.sync import async_to_sync
from django.db import connection, transaction
from django.utils import timezone

from jobs import lifecycle
from jobs.errors import AdmissionRefused
from jobs.models import Job
from jobs.tasks_api import (
    InvalidTaskError,
    TaskResult,
    TaskResultDoesNotExist,
    TaskResultStatus,
    default_task_backend,
    task_backends,
)
from jobs.tasks_backend import JOB_TYPE, PlinthBackend, task_scope
from tests.conftest import drain, wait_for
from tests.thirdparty_tasks import platform_aware, reports

pytestmark = pytest.mark.django_db(transaction=True)


def queue_row(job: Job) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT queue_name, priority, scheduled_at, status FROM procrastinate_jobs "
            "WHERE id = %s",
            [job.procrastinate_job_id],
        )
        queue_name, priority, scheduled_at, status = cursor.fetchone()
    return {"queue": queue_name, "priority": priority, "scheduled_at": scheduled_at,
            "status": status}


def test_the_backend_says_what_it_supports():
    backend = task_backends["default"]
    assert isinstance(backend, PlinthBackend)
    assert backend.supports_defer and backend.supports_async_task
    assert backend.supports_get_result and backend.supports_priority


def test_a_third_party_task_runs_on_a_worker_and_its_result_reads_back(clean_queue):
    result = reports.add.enqueue(2, 3)

    job = Job.objects.get(id=result.id)
    assert job.type == JOB_TYPE and job.status == "pending"
    assert job.input["task"] == "tests.thirdparty_tasks.reports.add"
    assert job.input["args"] == [2, 3]
    assert result.status == TaskResultStatus.READY and not result.is_finished

    drain()

    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 5
    assert result.errors == [] and result.attempts == 1
    assert result.finished_at is not None and result.started_at is not None
    fetched = reports.add.get_result(result.id)
    assert fetched.return_value == 5 and fetched.args == [2, 3]
    kinds = list(job.events.values_list("kind", flat=True))
    assert kinds == ["created", "started", "completed"]


def test_keyword_arguments_priority_and_async_tasks(clean_queue):
    shouted = reports.shout.enqueue(["hi", "there"], suffix="?")
    doubled = reports.slow_double.enqueue(21)

    assert queue_row(Job.objects.get(id=shouted.id))["priority"] == 10
    drain()

    shouted.refresh()
    doubled.refresh()
    assert shouted.return_value == {"text": "HI THERE?"}
    assert doubled.status == TaskResultStatus.SUCCESSFUL and doubled.return_value == 42


def test_higher_priority_runs_first(clean_queue):
    low = reports.add.using(priority=-5).enqueue(1, 1)
    high = reports.add.using(priority=50).enqueue(2, 2)

    drain()

    low_job, high_job = Job.objects.get(id=low.id), Job.objects.get(id=high.id)
    assert high_job.started_at < low_job.started_at


def test_takes_context_gets_its_own_result_and_attempt(clean_queue):
    result = reports.whoami.enqueue("me")

    drain()

    result.refresh()
    assert result.return_value == {"label": "me", "id": result.id, "attempt": 1,
                                   "status": "RUNNING"}


def test_failures_are_retried_by_the_platform_and_keep_each_traceback(clean_queue):
    result = reports.flaky.enqueue(succeed_on=3)

    drain()

    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == "ok on attempt 3"
    assert result.attempts == 3
    assert [e.exception_class_path for e in result.errors] == [
        "tests.thirdparty_tasks.reports.FlakyError"
    ] * 2
    assert "attempt 1 failed" in result.errors[0].traceback
    assert "Traceback (most recent call last)" in result.errors[0].traceback
    assert result.errors[0].exception_class is reports.FlakyError


def test_a_task_that_keeps_failing_ends_failed_with_its_errors(clean_queue):
    result = reports.broken.enqueue()

    drain()

    result.refresh()
    assert result.status == TaskResultStatus.FAILED and result.is_finished
    assert len(result.errors) == 4  # the first attempt and 3 retries
    assert all(e.exception_class is ValueError for e in result.errors)
    assert "broken on purpose" in result.errors[-1].traceback
    with pytest.raises(ValueError):
        result.return_value  # noqa: B018
    assert Job.objects.get(id=result.id).error.startswith("Failed after 3 retries")


def test_run_after_defers_the_job_until_then(clean_queue):
    when = timezone.now() + dt.timedelta(hours=1)
    result = reports.add.using(run_after=when).enqueue(1, 2)

    drain()  # a worker does not take it before its time

    job = Job.objects.get(id=result.id)
    assert job.status == "pending" and job.available_at == when
    assert queue_row(job)["scheduled_at"] == when
    assert reports.add.get_result(result.id).status == TaskResultStatus.READY


def test_a_named_queue_goes_to_that_procrastinate_queue(settings, clean_queue):
    settings.TASKS = {"default": {"BACKEND": "jobs.tasks_backend.PlinthBackend",
                                  "QUEUES": ["default", "bulk"]}}
    result = reports.add.using(queue_name="bulk").enqueue(4, 4)

    assert queue_row(Job.objects.get(id=result.id))["queue"] == "bulk"
    drain(queues=["bulk"])
    assert reports.add.get_result(result.id).return_value == 8


def test_an_unknown_queue_is_refused_with_djangos_exception():
    with pytest.raises(InvalidTaskError, match="not valid"):
        reports.add.using(queue_name="nope").enqueue(1, 2)
    assert not Job.objects.exists()


def test_arguments_that_are_not_json_are_refused_at_enqueue():
    with pytest.raises(InvalidTaskError, match="JSON"):
        reports.add.enqueue(object(), 2)
    with pytest.raises(TypeError):
        reports.shout.enqueue(["a"], suffix={1, 2})
    assert not Job.objects.exists()


def test_unknown_result_ids_raise_djangos_exception():
    with pytest.raises(TaskResultDoesNotExist):
        default_task_backend.get_result("not-a-uuid")
    with pytest.raises(TaskResultDoesNotExist):
        default_task_backend.get_result("00000000-0000-0000-0000-000000000000")


def test_enqueue_joins_the_callers_transaction(clean_queue):
    with pytest.raises(RuntimeError), transaction.atomic():
        reports.add.enqueue(1, 1)
        raise RuntimeError("rolled back")

    assert not Job.objects.exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_jobs")
        assert cursor.fetchone()[0] == 0


def test_an_organizations_tasks_count_against_its_limits(org, settings, clean_queue):
    settings.JOBS = {**settings.JOBS, "LIMIT_PER_ORG": 2}
    with task_scope(organization=org):
        first = reports.add.enqueue(1, 1)
        reports.add.enqueue(2, 2)
        with pytest.raises(AdmissionRefused):
            reports.add.enqueue(3, 3)

    assert Job.objects.get(id=first.id).organization == org
    assert Job.objects.filter(organization=org).count() == 2


def test_a_cancelled_task_reads_back_as_failed(clean_queue):
    result = reports.add.using(run_after=timezone.now() + dt.timedelta(hours=1)).enqueue(1, 1)

    lifecycle.job_cancel(result.id, actor="test")

    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert result.errors[0].exception_class_path == "jobs.errors.JobAbort"


def test_aenqueue_and_aget_result(clean_queue):
    async def enqueue_and_read() -> TaskResult:
        result = await reports.add.aenqueue(10, 5)
        return await reports.add.aget_result(result.id)

    fetched = async_to_sync(enqueue_and_read)()
    assert fetched.status == TaskResultStatus.READY and fetched.args == [10, 5]


def test_manage_py_procrastinate_worker_runs_a_third_party_task(worker_process):
    result = reports.shout.enqueue(["from", "a", "worker"])
    worker_process("--concurrency", "1")

    wait_for(lambda: reports.shout.get_result(result.id).is_finished, timeout=60, interval=0.2)
    assert reports.shout.get_result(result.id).return_value == {"text": "FROM A WORKER!"}


def test_a_staff_retry_keeps_the_tasks_queue_and_priority(settings, clean_queue):
    settings.TASKS = {"default": {"BACKEND": "jobs.tasks_backend.PlinthBackend",
                                  "QUEUES": ["default", "bulk"]}}
    result = reports.broken.using(queue_name="bulk", priority=7).enqueue()
    job = Job.objects.get(id=result.id)
    lifecycle.job_cancel(job.id, actor="test")

    retried = lifecycle.job_retry(job.id, actor="staff")

    row = queue_row(retried)
    assert (row["queue"], row["priority"], row["status"]) == ("bulk", 7, "todo")


def test_a_task_may_report_progress_and_use_durable_steps(clean_queue):
    result = platform_aware.count_to.enqueue(4)

    drain()

    job = Job.objects.get(id=result.id)
    assert result.task.get_result(result.id).return_value == 4
    progress = list(job.events.filter(kind="progress").values_list("progress", "message"))
    assert progress == [(25, "Counted 1 of 4"), (50, "Counted 2 of 4"),
                        (74, "Counted 3 of 4"), (99, "Counted 4 of 4")]
    assert sorted(job.steps.values_list("name", flat=True)) == [
        "count-1", "count-2", "count-3", "count-4"]


def test_a_permanent_error_class_fails_at_once_without_retries(clean_queue):
    result = platform_aware.refuses.enqueue("no such team")

    drain()

    result.refresh()
    assert result.status == TaskResultStatus.FAILED and result.attempts == 1
    assert [e.exception_class_path for e in result.errors] == ["jobs.errors.PermanentJobError"]
    job = Job.objects.get(id=result.id)
    assert (job.error, job.error_kind) == ("no such team", "permanent")
