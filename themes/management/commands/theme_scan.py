"""Scan an organization's recent interviews for themes, with a progress bar."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jobs.errors import JobAlreadyQueued, JobRefused
from jobs.models import JobStatus, Organization
from jobs.progress import follow_job
from themes.services import theme_scan_start


class Command(BaseCommand):
    help = (
        "Queue a theme scan of an organization and follow it until it ends "
        "(a worker must be running: manage.py procrastinate worker)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--org", required=True, help="Organization slug or id")
        parser.add_argument("--lookback-days", type=int, default=30)
        parser.add_argument("--max-interviews", type=int, default=50)
        parser.add_argument("--dry-run", action="store_true", help="Extract without writing")
        parser.add_argument("--no-follow", action="store_true", help="Queue it and return")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = _organization(options["org"])
        try:
            job = theme_scan_start(
                organization=organization,
                lookback_days=options["lookback_days"],
                max_interviews=options["max_interviews"],
                dry_run=options["dry_run"],
                source="admin",
            )
        except JobAlreadyQueued as exc:
            raise CommandError(str(exc)) from exc
        except JobRefused as exc:
            raise CommandError(f"Invalid options: {exc.errors}") from exc
        self.stdout.write(f"Theme scan {job.id} queued for {organization.slug}.")
        if options["no_follow"]:
            return
        job = follow_job(job.id, out=self.stdout)
        if job.status != JobStatus.COMPLETED:
            raise CommandError(f"The scan ended {job.status}: {job.error or job.status_message}")
        self.stdout.write(json.dumps({"success": True, "result": job.output}, indent=2))


def _organization(value: str) -> Organization:
    organizations = Organization.objects.all()
    try:
        found = organizations.filter(id=uuid.UUID(value)).first()
    except ValueError:
        found = organizations.filter(slug=value).first()
    if found is None:
        raise CommandError(f"No organization {value!r}")
    return found
