"""Start a warmup from a shell and follow it with a progress bar (a worker must be running)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jobs.errors import JobRefused
from jobs.progress import follow_job
from warmup import names, services
from warmup.models import Comparison


class Command(BaseCommand):
    help = ("Run a warmup: `warmup forecasts`, `warmup ai-explanations` or "
            "`warmup on-demand <slug>` (queues the job; a worker runs it).")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("kind", choices=["forecasts", "ai-explanations", "on-demand"])
        parser.add_argument("slug", nargs="?", help="The comparison (on-demand only)")
        parser.add_argument("--limit", type=int)
        parser.add_argument("--concurrency", type=int)
        parser.add_argument("--no-wait", action="store_true", help="Queue and return")

    def handle(self, *args: Any, **options: Any) -> None:
        kind = options["kind"]
        try:
            if kind == "on-demand":
                comparison = Comparison.objects.filter(slug=options["slug"] or "").first()
                if comparison is None:
                    raise CommandError(f"No comparison {options['slug']!r}")
                job, _ = services.on_demand_start(comparison=comparison, source="admin")
                if job is None:
                    raise CommandError("An on-demand warmup of it is already queued.")
            else:
                job_type = names.FORECASTS if kind == "forecasts" else names.AI_EXPLANATIONS
                body = {k: options[k] for k in ("limit", "concurrency") if options[k] is not None}
                job = services.warmup_start(job_type=job_type, input=body, source="admin")
        except services.WarmupBusy as busy:
            raise CommandError(str(busy)) from busy
        except JobRefused as exc:
            raise CommandError(json.dumps(exc.errors)) from exc
        self.stdout.write(f"{job.type} {job.id} queued.")
        if options["no_wait"]:
            return
        job = follow_job(job.id, out=self.stdout)
        if job.status != "completed":
            raise CommandError(f"{job.type} ended {job.status}: {job.error}")
        self.stdout.write(json.dumps(job.output, indent=2))
