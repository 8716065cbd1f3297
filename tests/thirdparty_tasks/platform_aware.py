"""Tasks that opt into what the platform offers beyond Django's API."""

from __future__ import annotations

import functools

from jobs.errors import PermanentJobError
from jobs.tasks_api import task
from jobs.tasks_backend import job_context


@task
def count_to(n: int) -> int:
    ctx = job_context()
    assert ctx is not None
    for i in range(1, n + 1):
        ctx.step(f"count-{i}", functools.partial(int, i))
        ctx.progress(round(i * 100 / n * 0.99), f"Counted {i} of {n}")
    return n


@task
def refuses(reason: str) -> None:
    raise PermanentJobError(reason)
