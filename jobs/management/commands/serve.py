"""`make run`: migrate, create demo data, then run the web server and a worker.

Ctrl-C (or SIGTERM) stops both. The web server is uvicorn (ASGI, so event
streams work) as config/server.py sets it up (WEB_WORKERS processes); the
worker is `manage.py procrastinate worker`. A worker that
exits (killed, or stopped by an error) is restarted after a back-off (1 s,
doubling to 30 s, back to 1 s once a worker has run a minute); everything stops
only on Ctrl-C or when the web server exits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand

from config.server import uvicorn_command

RESTART_BACKOFF_MIN = 1.0
RESTART_BACKOFF_MAX = 30.0
RESTART_BACKOFF_RESET = 60.0  # a worker that ran this long restarts at once


class Command(BaseCommand):
    help = "Migrate, seed demo data, and run the web server and a Procrastinate worker."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-worker", action="store_true", help="Run the web server only.")
        parser.add_argument("--no-demo", action="store_true", help="Skip the demo data.")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database migrated.")
        if not options["no_demo"]:
            call_command("demo_setup")
        python = sys.executable
        web = subprocess.Popen(uvicorn_command(options["host"], options["port"]))
        worker = None if options["no_worker"] else self._start_worker(python)
        self.stdout.write(
            self.style.SUCCESS(
                f"Serving on http://{options['host']}:{options['port']}/ "
                "(API docs /api/docs/, admin /admin/). Ctrl-C stops."
            )
        )
        stopping = False

        def stop(signum: int, _frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        backoff = RESTART_BACKOFF_MIN
        started = time.monotonic()
        restart_at: float | None = None
        try:
            while not stopping and web.poll() is None:
                time.sleep(0.2)
                if worker is not None and worker.poll() is not None and restart_at is None:
                    # A worker that exited is restarted, with back-off; only
                    # Ctrl-C or the web server's exit stops everything.
                    if time.monotonic() - started > RESTART_BACKOFF_RESET:
                        backoff = RESTART_BACKOFF_MIN
                    self.stderr.write(
                        f"worker (pid {worker.pid}) exited with code {worker.returncode}; "
                        f"restarting it in {backoff:.0f} s"
                    )
                    restart_at = time.monotonic() + backoff
                    backoff = min(backoff * 2, RESTART_BACKOFF_MAX)
                if restart_at is not None and time.monotonic() >= restart_at:
                    restart_at = None
                    worker = self._start_worker(python)
                    started = time.monotonic()
        finally:
            procs = [p for p in (web, worker) if p is not None]
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 35
            for p in procs:
                try:
                    p.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    p.kill()
        if not stopping and web.returncode not in (0, -signal.SIGTERM, None):
            raise SystemExit(f"stopped because the web server exited: {web.returncode}")

    def _start_worker(self, python: str) -> subprocess.Popen[bytes]:
        worker = subprocess.Popen([python, "manage.py", "procrastinate", "worker"])
        self.stdout.write(f"worker started (pid {worker.pid})")
        self.stdout.flush()
        return worker
