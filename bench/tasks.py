"""The bare Procrastinate side of the comparison: no-op tasks registered, for
the benchmark only, on the project's own Procrastinate app (same connector,
same worker settings), so the only difference from the platform's side is the
platform's wrapper: its Job row, transitions, events and notifications.

Imported by the bench driver and the bench worker after `django.setup()`.
"""

from __future__ import annotations

from procrastinate.contrib.django import app

BARE_SYNC = "bench.noop"
BARE_ASYNC = "bench.anoop"


def _register() -> None:
    if BARE_SYNC in app.tasks:
        return

    @app.task(name=BARE_SYNC, queue="default")
    def noop() -> None:
        """Runs in a worker thread, as the platform's `jobs.run` does."""
        return None

    @app.task(name=BARE_ASYNC, queue="default")
    async def anoop() -> None:
        """Runs on the worker's event loop: bare Procrastinate at its fastest."""
        return None


_register()
