"""A real Procrastinate worker process for the bench (`app.run_worker_async`,
what `manage.py procrastinate worker` runs), with the bare tasks registered.

    python bench/worker.py --concurrency 4 [--exit-when-empty] [--no-listen]
                           [--poll-interval 5]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

# The repository, not bench/, first on the path (bench/ names must not shadow modules).
sys.path[0] = str(Path(__file__).resolve().parent.parent)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--exit-when-empty", action="store_true")
    parser.add_argument("--no-listen", action="store_true")
    parser.add_argument("--poll-interval", type=float, default=None)
    parser.add_argument("--name", default="bench")
    parser.add_argument(
        "--gate", action="store_true",
        help="print READY once set up, then wait for a line on stdin before working",
    )
    args = parser.parse_args()

    from bench.common import setup_django

    setup_django()
    from django.conf import settings
    from procrastinate.contrib.django import app as project_app

    defaults: dict[str, Any] = dict(settings.PROCRASTINATE_WORKER_DEFAULTS)
    if args.poll_interval is not None:
        defaults["fetch_job_polling_interval"] = args.poll_interval
    defaults["concurrency"] = args.concurrency

    async def run() -> None:
        async with app.open_async():
            if args.gate:
                # Django and the pool are ready: start all workers at one moment.
                print("READY", flush=True)
                await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
            await app.run_worker_async(
                queues=["default"],
                name=args.name,
                wait=not args.exit_when_empty,
                listen_notify=not args.no_listen,
                install_signal_handlers=True,
                **defaults,
            )

    # What `manage.py procrastinate worker` does: the same app, on a pooled
    # psycopg connector instead of Django's connection.
    connector = project_app.connector.get_worker_connector()  # type: ignore[attr-defined]
    with project_app.replace_connector(connector) as app:
        asyncio.run(run())


if __name__ == "__main__":
    main()
