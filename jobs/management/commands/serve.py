"""`make run`: migrate, create demo data, then run the web server and a worker.

Ctrl-C (or SIGTERM) stops both. The web server is uvicorn (ASGI, so event
streams work) as config/server.py sets it up (WEB_WORKERS processes); the
worker is `manage.py procrastinate worker`.
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
        procs: list[subprocess.Popen[bytes]] = [
            subprocess.Popen(uvicorn_command(options["host"], options["port"]))
        ]
        if not options["no_worker"]:
            procs.append(subprocess.Popen([python, "manage.py", "procrastinate", "worker"]))
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
        try:
            while not stopping and all(p.poll() is None for p in procs):
                time.sleep(0.2)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 35
            for p in procs:
                try:
                    p.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    p.kill()
        failed = [p.args for p in procs if p.returncode not in (0, -signal.SIGTERM, None)]
        if failed and not stopping:
            raise SystemExit(f"stopped because a process exited: {failed}")
