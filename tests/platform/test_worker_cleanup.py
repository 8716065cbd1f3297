"""jobs.run skips Procrastinate's async Django clean-up; every other async task keeps it."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from procrastinate.contrib.django.db_cleanup import close_db_connections, close_db_connections_async

from jobs import workerpool


def test_the_worker_chain_wraps_the_async_cleanup_once_and_keeps_the_sync_one():
    worker = SimpleNamespace(task_middleware=[close_db_connections, close_db_connections_async])
    workerpool.skip_loop_cleanup_for_platform(worker)
    wrapped = worker.task_middleware[1]
    workerpool.skip_loop_cleanup_for_platform(worker)  # a second job: nothing more

    assert worker.task_middleware[0] is close_db_connections
    assert worker.task_middleware[1] is wrapped
    assert wrapped.plinth_wraps is close_db_connections_async


def test_only_the_platform_task_skips_the_cleanup():
    ran: list[str] = []

    async def cleanup(call_next: Any, context: Any, worker: Any) -> Any:
        ran.append(context.task.name)
        return await call_next()

    middleware = workerpool._loop_cleanup_except_platform(cleanup)

    async def call_next() -> str:
        return "done"

    for name in ("jobs.run", "bench.anoop", "jobs.run", "reports.export"):
        context = SimpleNamespace(task=SimpleNamespace(name=name))
        assert asyncio.run(middleware(call_next, context, None)) == "done"

    assert ran == ["bench.anoop", "reports.export"]
