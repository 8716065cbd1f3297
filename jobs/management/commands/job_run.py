"""Start a job from a shell and follow it with a progress bar.

    manage.py job_run diagnostic --input '{"steps": 5, "step_seconds": 1}' --org demo
    manage.py job_run competitor_analysis --org demo --decision <id> --input '{...}'

The input and scope are checked as for the API (a decision type needs --decision
of that organization): a refused job is never queued.

A worker must be running (`make run`, or `manage.py procrastinate worker`).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jobs import lifecycle, registry
from jobs.errors import (
    AdmissionRefused,
    InvalidJobInput,
    JobAlreadyQueued,
    JobRefused,
    UnknownJobType,
)
from jobs.models import Organization
from jobs.progress import follow_job


class Command(BaseCommand):
    help = "Create a job of any registered type and follow its progress."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("type", help="Job type, e.g. diagnostic")
        parser.add_argument("--input", default="{}", help="The job's input as a JSON object")
        parser.add_argument("--org", help="Organization slug (limits apply when given)")
        parser.add_argument("--decision", help="Decision id, for a type that works on one")
        parser.add_argument("--no-wait", action="store_true", help="Print the id and return")
        parser.add_argument("--timeout", type=float, default=3600)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            registry.get(options["type"])
            raw = json.loads(options["input"])
            decision_id = uuid.UUID(options["decision"]) if options["decision"] else None
        except UnknownJobType as exc:
            names = ", ".join(t.name for t in registry.all_types())
            raise CommandError(f"Unknown job type {exc}. Known: {names}") from exc
        except json.JSONDecodeError as exc:
            raise CommandError(f"--input is not JSON: {exc}") from exc
        except ValueError as exc:
            raise CommandError(f"--decision is not an id: {exc}") from exc
        org = None
        if options["org"]:
            org = Organization.objects.filter(slug=options["org"]).first()
            if org is None:
                raise CommandError(f"No organization with slug {options['org']!r}")
        try:
            job = lifecycle.job_create(
                job_type=options["type"], input=raw, organization=org,
                decision_id=decision_id, source="admin",
            )
        except InvalidJobInput as exc:
            raise CommandError(f"Invalid input: {exc}") from exc
        except JobRefused as exc:
            raise CommandError(f"Refused: {exc}") from exc
        except (AdmissionRefused, JobAlreadyQueued) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Job {job.id} ({job.type}) queued.")
        if options["no_wait"]:
            return
        job = follow_job(job.id, out=self.stdout, timeout=options["timeout"])
        if job.status == "completed":
            self.stdout.write(self.style.SUCCESS(f"Completed: {json.dumps(job.output)}"))
        else:
            raise CommandError(f"Job ended {job.status}: {job.error}")
