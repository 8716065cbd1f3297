"""Tasks as a team writes them with Django's task API: nothing of the platform here."""

from __future__ import annotations

import asyncio
from typing import Any

from jobs.tasks_api import TaskContext, task


@task
def add(a: int, b: int) -> int:
    return a + b


@task(priority=10)
def shout(words: list[str], *, suffix: str = "!") -> dict[str, Any]:
    return {"text": " ".join(w.upper() for w in words) + suffix}


@task(takes_context=True)
def whoami(context: TaskContext, label: str) -> dict[str, Any]:
    return {"label": label, "id": context.task_result.id, "attempt": context.attempt,
            "status": str(context.task_result.status)}


@task
async def slow_double(n: int) -> int:
    await asyncio.sleep(0.01)
    return n * 2


class FlakyError(Exception):
    pass


@task(takes_context=True)
def flaky(context: TaskContext, succeed_on: int) -> str:
    """Fails until its `succeed_on`-th attempt: retried by the platform."""
    if context.attempt < succeed_on:
        raise FlakyError(f"attempt {context.attempt} failed")
    return f"ok on attempt {context.attempt}"


@task
def broken() -> None:
    raise ValueError("broken on purpose")
