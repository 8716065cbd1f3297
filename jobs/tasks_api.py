"""Django's task API, from wherever this Django has it.

Django 6.0 ships it as `django.tasks`; on Django 5.2 the `django-tasks` backport
provides the same API as `django_tasks`. Code (ours and a team's) imports from
here, so moving to Django 6 changes nothing but this module.
"""

from __future__ import annotations

try:  # Django 6.0+
    from django.tasks import (  # type: ignore[import-not-found]
        DEFAULT_TASK_BACKEND_ALIAS,
        DEFAULT_TASK_QUEUE_NAME,
        Task,
        TaskContext,
        TaskResult,
        TaskResultStatus,
        default_task_backend,
        task,
        task_backends,
    )
    from django.tasks.backends.base import (  # type: ignore[import-not-found]
        BaseTaskBackend,
    )
    from django.tasks.base import TaskError  # type: ignore[import-not-found]
    from django.tasks.exceptions import (  # type: ignore[import-not-found]
        InvalidTask as InvalidTaskError,
    )
    from django.tasks.exceptions import (  # type: ignore[import-not-found]
        TaskResultDoesNotExist,
    )
except ImportError:  # Django 5.2: the backport
    from django_tasks import (
        DEFAULT_TASK_BACKEND_ALIAS,
        DEFAULT_TASK_QUEUE_NAME,
        TaskContext,
        TaskResult,
        TaskResultStatus,
        default_task_backend,
        task,
        task_backends,
    )
    from django_tasks.backends.base import BaseTaskBackend
    from django_tasks.base import Task, TaskError
    from django_tasks.exceptions import InvalidTaskError, TaskResultDoesNotExist

__all__ = [
    "DEFAULT_TASK_BACKEND_ALIAS",
    "DEFAULT_TASK_QUEUE_NAME",
    "BaseTaskBackend",
    "InvalidTaskError",
    "Task",
    "TaskContext",
    "TaskError",
    "TaskResult",
    "TaskResultDoesNotExist",
    "TaskResultStatus",
    "default_task_backend",
    "task",
    "task_backends",
]
