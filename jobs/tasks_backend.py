"""Django's task API (`@task`, `Task.enqueue`, `TaskResult`) run by the platform.

    TASKS = {"default": {"BACKEND": "jobs.tasks_backend.PlinthBackend"}}

A function decorated with `@task` in any installed app, one the platform has
never heard of, is enqueued as a `Job` of the generic type `django_task` whose
input names the task's dotted path, its arguments and its options. So it gets
what every job gets: one transaction with its queue entry, events, progress,
admission limits when an organization is given (`task_scope`), retries by the
platform's error classes, cancel (API, admin), expiry; and `manage.py
procrastinate worker` runs it. `get_result()` reads the `Job` back as a
`TaskResult`.

| Job status | TaskResultStatus |
| --- | --- |
| pending (new, or waiting for a retry) | READY |
| running | RUNNING |
| completed | SUCCESSFUL (`return_value`: what the function returned) |
| failed, cancelled | FAILED (`errors`: one per failed attempt, with its traceback) |
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import traceback
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.module_loading import import_string
from rest_framework import serializers

from jobs import lifecycle
from jobs.errors import InvalidInputError, JobAbort, PermanentJobError
from jobs.models import Job, JobStatus, JobStep, Organization
from jobs.registry import JobType, register
from jobs.runtime import JobContext
from jobs.tasks_api import (
    BaseTaskBackend,
    InvalidTaskError,
    Task,
    TaskContext,
    TaskError,
    TaskResult,
    TaskResultDoesNotExist,
    TaskResultStatus,
)

JOB_TYPE = "django_task"
# Each failed attempt's exception is kept as a step row named with this prefix.
ERROR_STEP_PREFIX = "task-error:"

_STATUSES = {
    JobStatus.PENDING: TaskResultStatus.READY,
    JobStatus.RUNNING: TaskResultStatus.RUNNING,
    JobStatus.COMPLETED: TaskResultStatus.SUCCESSFUL,
    JobStatus.FAILED: TaskResultStatus.FAILED,
    JobStatus.CANCELLED: TaskResultStatus.FAILED,
}


class TaskArgumentsError(InvalidTaskError, TypeError):
    """A task's arguments are not JSON: refused at enqueue (Django's InvalidTask,
    and a TypeError as Django's own backends raise for them)."""


# --- Who a task is enqueued for -----------------------------------------------


@dataclass(frozen=True)
class TaskScope:
    organization: Organization | None = None
    user: Any = None
    decision_id: Any = None


_scope: contextvars.ContextVar[TaskScope | None] = contextvars.ContextVar(
    "plinth_task_scope", default=None
)
_running: contextvars.ContextVar[JobContext | None] = contextvars.ContextVar(
    "plinth_task_job_context", default=None
)


@contextlib.contextmanager
def task_scope(
    *, organization: Organization | None = None, user: Any = None, decision_id: Any = None
) -> Iterator[None]:
    """Tasks enqueued inside count against this organization's (user's, decision's)
    active-job limits and are listed with its jobs; Django's `enqueue()` has no
    place for them. Over a limit, `enqueue()` raises `AdmissionRefused`."""
    token = _scope.set(TaskScope(organization, user, decision_id))
    try:
        yield
    finally:
        _scope.reset(token)


def job_context() -> JobContext | None:
    """Inside a running task: its job's context (`progress()`, `step()`,
    `should_abort()`), for a task that wants more than Django's API offers."""
    return _running.get()


# --- The backend ----------------------------------------------------------------


def _json(value: Any, what: str) -> Any:
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as exc:
        raise TaskArgumentsError(f"{what} must be JSON-serializable: {exc}") from exc


class PlinthBackend(BaseTaskBackend):
    supports_defer = True
    supports_async_task = True
    supports_get_result = True
    supports_priority = True

    def enqueue(
        self, task: Task[Any, Any], args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> TaskResult[Any]:
        self.validate_task(task)
        input = {
            "task": task.module_path,
            "backend": self.alias,
            "args": _json(list(args), "Task arguments"),
            "kwargs": _json(dict(kwargs), "Task keyword arguments"),
            "queue_name": task.queue_name,
            "priority": task.priority,
            "run_after": task.run_after.isoformat() if task.run_after else None,
        }
        scope = _scope.get() or TaskScope()
        job = lifecycle.job_create(
            job_type=JOB_TYPE,
            input=input,
            organization=scope.organization,
            user=scope.user,
            decision_id=scope.decision_id,
            scope=f"task:{task.module_path}"[:200],
            source="task",
            queue=task.queue_name,
            priority=task.priority,
            run_after=task.run_after,
        )
        return self._result(job, task)

    def get_result(self, result_id: str) -> TaskResult[Any]:
        try:
            job_id = uuid.UUID(str(result_id))
        except ValueError:
            raise TaskResultDoesNotExist(result_id) from None
        job = Job.objects.filter(id=job_id, type=JOB_TYPE).first()
        if job is None:
            raise TaskResultDoesNotExist(result_id)
        try:
            task = task_from_input(job.input)
        except PermanentJobError as exc:
            raise TaskResultDoesNotExist(f"{result_id}: {exc}") from exc
        return self._result(job, task)

    def _result(self, job: Job, task: Task[Any, Any]) -> TaskResult[Any]:
        return task_result(job, task, backend=self.alias)


def task_from_input(input: Mapping[str, Any]) -> Task[Any, Any]:
    """The Task a `django_task` job runs, with the options it was enqueued with."""
    path = str(input.get("task", ""))
    try:
        task = import_string(path)
    except ImportError as exc:
        raise PermanentJobError(f"Task {path!r} cannot be imported: {exc}") from exc
    if not isinstance(task, Task):
        raise InvalidInputError(f"{path!r} is not a task (decorate it with @task)")
    run_after = input.get("run_after")
    return task.using(
        priority=int(input.get("priority", task.priority)),
        queue_name=str(input.get("queue_name") or task.queue_name),
        run_after=parse_datetime(run_after) if run_after else None,
    )


def task_result(
    job: Job, task: Task[Any, Any], *, backend: str, status: str | None = None
) -> TaskResult[Any]:
    """The job as Django's TaskResult. Worker ids are not recorded: one per attempt."""
    input = job.input or {}
    state = _STATUSES[JobStatus(status or job.status)]
    errors = [] if state != TaskResultStatus.FAILED and job.attempts == 0 else _errors(job)
    result: TaskResult[Any] = TaskResult(
        task=task,
        id=str(job.id),
        status=state,
        enqueued_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.completed_at if state in (TaskResultStatus.SUCCESSFUL,
                                                  TaskResultStatus.FAILED) else None,
        last_attempted_at=job.started_at,
        args=list(input.get("args", [])),
        kwargs=dict(input.get("kwargs", {})),
        backend=backend,
        errors=errors,
        worker_ids=[f"{job.id}:{n}" for n in range(1, job.attempts + 1)],
    )
    if state == TaskResultStatus.SUCCESSFUL:
        object.__setattr__(result, "_return_value", (job.output or {}).get("return_value"))
    return result


def _errors(job: Job) -> list[TaskError]:
    errors = [
        # An error step's result is always this dict.
        TaskError(exception_class_path=r["exception_class_path"],  # type: ignore[index]
                  traceback=r["traceback"])  # type: ignore[index]
        for r in JobStep.objects.filter(job_id=job.id, name__startswith=ERROR_STEP_PREFIX)
        .order_by("id")
        .values_list("result", flat=True)
    ]
    if job.status in (JobStatus.FAILED, JobStatus.CANCELLED) and not errors:
        # Stopped by the platform, not by an exception of the task: cancelled or expired.
        errors.append(TaskError(exception_class_path=f"{JobAbort.__module__}.JobAbort",
                                traceback=job.error or job.status_message or str(job.status)))
    return errors


# --- The handler the worker runs -------------------------------------------------


def run_task(ctx: JobContext) -> dict[str, Any]:
    """Run one attempt of a Django task; its exception goes to the platform, which
    retries or fails the job by its kind (jobs.registry.ERROR_POLICIES)."""
    try:
        task = task_from_input(ctx.input)
        args = list(ctx.input.get("args", []))
        kwargs = dict(ctx.input.get("kwargs", {}))
        token = _running.set(ctx)
        try:
            if task.takes_context:
                running = task_result(ctx.job, task, backend=str(ctx.input.get("backend")),
                                      status=JobStatus.RUNNING)
                # Task.call runs a coroutine function with async_to_sync, in this worker
                # thread; the async runtime can await task.acall instead.
                value = task.call(TaskContext(task_result=running), *args, **kwargs)
            else:
                value = task.call(*args, **kwargs)
        finally:
            _running.reset(token)
        try:
            return {"return_value": json.loads(json.dumps(value))}
        except (TypeError, ValueError) as exc:
            raise PermanentJobError(f"The task's return value is not JSON: {exc}") from exc
    except JobAbort:
        raise
    except Exception as exc:
        _record_error(ctx, exc)
        raise


def _record_error(ctx: JobContext, exc: BaseException) -> None:
    JobStep.objects.create(
        job_id=ctx.job_id,
        name=f"{ERROR_STEP_PREFIX}{ctx.attempt}:{uuid.uuid4().hex[:8]}",
        attempt=ctx.attempt,
        result={
            "exception_class_path": f"{type(exc).__module__}.{type(exc).__qualname__}",
            "traceback": "".join(traceback.format_exception(exc)),
        },
    )


class DjangoTaskInput(serializers.Serializer):
    """What `PlinthBackend.enqueue` writes; checked at creation like any job's input."""

    task = serializers.RegexField(r"^[A-Za-z_][\w.]*$", max_length=300)
    backend = serializers.CharField(max_length=100)
    args = serializers.ListField(child=serializers.JSONField(), default=list)
    kwargs = serializers.DictField(child=serializers.JSONField(), default=dict)
    queue_name = serializers.CharField(max_length=100, allow_blank=True, required=False)
    priority = serializers.IntegerField(min_value=-100, max_value=100, default=0)
    run_after = serializers.CharField(allow_null=True, required=False, default=None)


DJANGO_TASK = register(
    JobType(
        name=JOB_TYPE,
        handler=run_task,
        input_serializer=DjangoTaskInput,
        title="Django task",
        description="A function decorated with Django's @task, enqueued through TASKS.",
        public=False,
        typical_duration="as the task",
        retry_defer_options=lambda input: {"queue": input.get("queue_name") or None,
                                           "priority": int(input.get("priority") or 0)},
    )
)

__all__ = ["PlinthBackend", "TaskArgumentsError", "job_context", "task_scope"]
