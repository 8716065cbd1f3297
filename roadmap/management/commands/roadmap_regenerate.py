"""Regenerate a project's roadmap suggestions, with a progress bar."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jobs.errors import JobAlreadyQueued
from jobs.models import JobStatus
from jobs.progress import follow_job
from roadmap.models import Project
from roadmap.services import roadmap_regenerate_start


class Command(BaseCommand):
    help = (
        "Queue roadmap.regenerate for a project and follow it until it ends "
        "(a worker must be running: manage.py procrastinate worker)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--project", required=True,
                            help="Project id, or its name within --org")
        parser.add_argument("--org", help="Organization slug (to find a project by name)")
        parser.add_argument("--no-reasoning", action="store_true",
                            help="Scores only: no AI reasoning")
        parser.add_argument("--no-follow", action="store_true", help="Queue it and return")

    def handle(self, *args: Any, **options: Any) -> None:
        project = _project(options["project"], options.get("org"))
        try:
            job = roadmap_regenerate_start(
                project=project, generate_reasoning=not options["no_reasoning"], source="admin"
            )
        except JobAlreadyQueued as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Regeneration {job.id} queued for {project}.")
        if options["no_follow"]:
            return
        job = follow_job(job.id, out=self.stdout)
        if job.status != JobStatus.COMPLETED:
            raise CommandError(
                f"The regeneration ended {job.status}: {job.error or job.status_message}"
            )
        self.stdout.write(json.dumps(job.output, indent=2))


def _project(value: str, org: str | None) -> Project:
    projects = Project.objects.select_related("organization")
    try:
        found = projects.filter(id=uuid.UUID(value)).first()
    except ValueError:
        if not org:
            raise CommandError("--project is not an id: give --org to find it by name") from None
        found = projects.filter(organization__slug=org, name=value).first()
    if found is None:
        raise CommandError(f"No project {value!r}")
    return found
