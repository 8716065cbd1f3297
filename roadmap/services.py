"""Writes of the roadmap app: projects, suggestions, and starting regenerations."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from jobs import lifecycle
from jobs.fanout import fan_out
from jobs.models import Job, Organization
from roadmap.generation import theme_score_now
from roadmap.models import Priority, Project, RoadmapSuggestion
from themes.models import Theme

logger = logging.getLogger(__name__)

REGENERATE_JOB_TYPE = "roadmap.regenerate"


class SuggestionExists(Exception):
    pass


def project_create(
    *,
    organization: Organization,
    name: str,
    status: str = Project.Status.ACTIVE,
    slack_channel: str = "",
    jira_project_key: str = "",
) -> Project:
    return Project.objects.create(
        organization=organization,
        name=name,
        status=status,
        slack_channel=slack_channel,
        jira_project_key=jira_project_key,
    )


def suggestion_create(
    *, project: Project, theme: Theme, manual_priority_adjustment: str | None = None
) -> RoadmapSuggestion:
    """A suggestion for a theme, scored now; raises SuggestionExists if there is one."""
    score, level = theme_score_now(theme)
    try:
        with transaction.atomic():
            return RoadmapSuggestion.objects.create(
                project=project,
                theme=theme,
                score=score,
                priority_level=level,
                manual_priority_adjustment=manual_priority_adjustment,
            )
    except IntegrityError as exc:
        raise SuggestionExists(f"{project} already has a suggestion for {theme}.") from exc


def suggestion_adjust(
    *, suggestion: RoadmapSuggestion, manual_priority_adjustment: str | None
) -> RoadmapSuggestion:
    """A person's priority (None: back to the computed one). Regenerations keep it."""
    if manual_priority_adjustment is not None and manual_priority_adjustment not in Priority.values:
        raise ValueError(f"unknown priority {manual_priority_adjustment!r}")
    suggestion.manual_priority_adjustment = manual_priority_adjustment
    suggestion.save(update_fields=["manual_priority_adjustment", "updated_at"])
    return suggestion


def roadmap_regenerate_start(
    *,
    project: Project,
    generate_reasoning: bool = True,
    source: str = "api",
    user: Any = None,
) -> Job:
    """Queue `roadmap.regenerate` for a project.

    Raises JobAlreadyQueued while one waits for the project (one may run and
    one wait), and AdmissionRefused over the active-job limits for what a
    user starts from the API.
    """
    return lifecycle.job_create(
        job_type=REGENERATE_JOB_TYPE,
        input={"project_id": str(project.id), "generate_reasoning": generate_reasoning},
        organization=project.organization,
        user=user,
        source=source,
        scope=f"project:{project.id}",
        enforce_limits=source == "api",
    )


def _fan_out(projects: Any, *, source: str, log_type: str) -> dict[str, int]:
    return fan_out(
        projects,
        log_type=log_type,
        create=lambda project: roadmap_regenerate_start(project=project, source=source),
        organization_of=lambda project: project.organization,
        describe=lambda project: f"project {project.id}",
    )


def roadmap_refresh_schedule() -> dict[str, int]:
    """The weekly refresh: one regeneration per active project of an active organization."""
    projects = Project.objects.select_related("organization").filter(
        status=Project.Status.ACTIVE, organization__is_active=True
    )
    return _fan_out(projects, source="schedule", log_type="roadmap.weekly_refresh")


def roadmap_regenerate_for_new_themes(
    *, organization_id: Any, themes_created: int
) -> dict[str, int] | None:
    """A scan that created more than ROADMAP_NEW_THEMES_TRIGGER themes regenerates the
    organization's active projects; None when it did not."""
    if themes_created <= int(settings.ROADMAP_NEW_THEMES_TRIGGER):
        return None
    projects = Project.objects.select_related("organization").filter(
        organization_id=organization_id, status=Project.Status.ACTIVE
    )
    return _fan_out(projects, source="event", log_type="roadmap.new_themes")
