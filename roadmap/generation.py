"""Roadmap regeneration, the parts of the `roadmap.regenerate` job.

1. `suggestions_score`: a suggestion per theme, scored in plain code
   (`roadmap.scoring`); the computed `priority_level` follows the score, a
   `manual_priority_adjustment` is never written here.
2. `suggestion_reasoning_generate` (async): one LLM call per suggestion, through
   the shared limiter `roadmap-reasoning` (1 request/s across every worker),
   awaited on the async client; its read and write go through `jobs.aio`.
3. `handoffs_send`: after the writes above have committed, Slack for new
   critical items and a Jira epic per critical or high-priority item without
   one (seed 000: high-priority themes get epics; critical ranks above). Both
   carry idempotency keys, so a retried job never posts twice or opens a
   second epic.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone

from jobs import aio
from jobs.ai import llm
from jobs.ai.models import GenerationLog
from jobs.integrations import jira, slack
from jobs.models import Job
from roadmap import offline, reasoning, scoring
from roadmap.models import Priority, Project, RoadmapGenerationLog, RoadmapSuggestion
from themes.models import Interview, Theme

REASONING_LIMITER_KEY = "roadmap-reasoning"
# The effective priorities that get a Jira epic (seed 000's "high-priority themes":
# critical ranks above high, so both do).
EPIC_PRIORITIES = frozenset({Priority.CRITICAL, Priority.HIGH})


def recent_interviews_count(*, organization_id: Any, today: dt.date) -> int:
    since = today - dt.timedelta(days=scoring.WINDOW_DAYS)
    return Interview.objects.filter(
        organization_id=organization_id, interviewed_at__gte=since
    ).count()


def _facts(theme: Theme) -> scoring.ThemeFacts:
    last_seen = getattr(theme, "last_evidence_on", None)
    if last_seen is None:
        seen_at = theme.last_detected_at or theme.updated_at
        last_seen = seen_at.date() if seen_at else None
    return scoring.ThemeFacts(theme.occurrences, theme.confidence_score, last_seen)


def themes_with_evidence_dates(organization_id: Any) -> Any:
    return Theme.objects.filter(organization_id=organization_id).annotate(
        last_evidence_on=Max("evidence__interview__interviewed_at")
    )


def theme_score_now(theme: Theme) -> tuple[float, str]:
    """Score and level of one theme today (for a suggestion created by hand)."""
    today = timezone.now().date()
    annotated = themes_with_evidence_dates(theme.organization_id).get(pk=theme.pk)
    interviews = max(
        recent_interviews_count(organization_id=theme.organization_id, today=today),
        theme.occurrences,
    )
    score = scoring.theme_score(_facts(annotated), interviews=interviews, today=today)
    return score, scoring.priority_for(score)


def suggestions_score(*, project: Project) -> dict[str, Any]:
    """Upsert a suggestion per theme of the project's organization.

    Returns every suggestion id (strongest first) and the ids that became
    critical in this run and carry no manual adjustment.
    """
    today = timezone.now().date()
    themes = list(themes_with_evidence_dates(project.organization_id))
    interviews = max(
        [recent_interviews_count(organization_id=project.organization_id, today=today)]
        + [t.occurrences for t in themes]
    )
    newly_critical: list[int] = []
    with transaction.atomic():
        existing = {
            s.theme_id: s
            for s in RoadmapSuggestion.objects.select_for_update().filter(project=project)
        }
        for theme in themes:
            score = scoring.theme_score(_facts(theme), interviews=interviews, today=today)
            level = scoring.priority_for(score)
            suggestion = existing.get(theme.id)
            was_critical = suggestion is not None and suggestion.priority_level == Priority.CRITICAL
            if suggestion is None:
                suggestion = RoadmapSuggestion.objects.create(
                    project=project, theme=theme, score=score, priority_level=level
                )
            elif (suggestion.score, suggestion.priority_level) != (score, level):
                # Only the computed fields: the manual adjustment is the person's.
                suggestion.score, suggestion.priority_level = score, level
                suggestion.save(update_fields=["score", "priority_level", "updated_at"])
            if (
                level == Priority.CRITICAL
                and not was_critical
                and suggestion.manual_priority_adjustment is None
            ):
                newly_critical.append(suggestion.id)
    ids = list(
        RoadmapSuggestion.objects.filter(project=project)
        .order_by("-score", "id")
        .values_list("id", flat=True)
    )
    return {"suggestions": ids, "newly_critical": newly_critical, "interviews": interviews}


def _reasoning_request(suggestion_id: int, interviews: int) -> tuple[str, str] | dict[str, Any]:
    """The prompt and its key for one suggestion, or why there is nothing to ask."""
    suggestion = (
        RoadmapSuggestion.objects.select_related("theme").filter(id=suggestion_id).first()
    )
    if suggestion is None:  # deleted meanwhile: nothing to explain
        return {"id": suggestion_id, "skipped": "deleted"}
    prompt = reasoning.build_prompt(suggestion, interviews=interviews)
    key = hashlib.sha256(f"{llm.resolve_provider()}\n{prompt}".encode()).hexdigest()
    if suggestion.reasoning_text and suggestion.reasoning_key == key:
        return {"id": suggestion_id, "skipped": "current"}
    return prompt, key


def _reasoning_store(suggestion_id: int, key: str, answer: llm.Completion) -> dict[str, Any]:
    RoadmapSuggestion.objects.filter(id=suggestion_id).update(
        reasoning_text=answer.text.strip(), reasoning_key=key, updated_at=timezone.now()
    )
    return {"id": suggestion_id, "tokens": answer.total_tokens, "offline": answer.offline}


async def suggestion_reasoning_generate(
    *, suggestion_id: int, interviews: int, job: Job | None = None
) -> dict[str, Any]:
    """One LLM call (at the shared 1 request/s), its text stored on the suggestion.

    Skipped when the suggestion's reasoning was written from the same facts
    (same provider, same prompt): a weekly refresh of an unchanged roadmap
    spends nothing. The call awaits the provider on the async client; the
    reads and the write are short trips to the worker's database pool.
    """
    request = await aio.db(_reasoning_request, suggestion_id, interviews)
    if isinstance(request, dict):
        return request
    prompt, key = request
    answer = await llm.acomplete(
        prompt=prompt,
        system=reasoning.SYSTEM,
        purpose="roadmap-reasoning",
        job=job,
        limiter_key=REASONING_LIMITER_KEY,
        offline=offline.offline_reasoning,
        max_tokens=300,
    )
    return await aio.db(_reasoning_store, suggestion_id, key, answer)


def critical_alert_text(count: int) -> str:
    return f"\U0001f6a8 {count} new critical roadmap items detected!"


def handoffs_send(*, project: Project, job_id: Any, newly_critical: list[int]) -> dict[str, Any]:
    """Slack for new critical items, a Jira epic per critical or high item without one."""
    sent: dict[str, Any] = {"critical": 0, "slack": None, "jira_opened": [], "jira_epics": {}}
    critical = RoadmapSuggestion.objects.filter(
        id__in=newly_critical,
        priority_level=Priority.CRITICAL,
        manual_priority_adjustment__isnull=True,
    ).count()
    sent["critical"] = critical
    if critical:
        sent["slack"] = slack.post_message(
            channel=project.slack_channel or None,
            text=critical_alert_text(critical),
            # One message per regeneration job, whatever its retries.
            idempotency_key=f"roadmap:{job_id}:critical-alert",
        )
    without_epic = (
        RoadmapSuggestion.objects.filter(project=project, jira_issue_key="")
        .select_related("theme")
        .order_by("-score", "id")
    )
    for suggestion in without_epic:
        if suggestion.effective_priority not in EPIC_PRIORITIES:
            continue
        key = jira.create_issue(
            project_key=project.jira_project_key or None,
            summary=suggestion.theme.name,
            description=suggestion.reasoning_text or suggestion.theme.description,
            issue_type="Epic",
            priority="High",
            # One epic per suggestion, ever: a retry finds the key it got.
            idempotency_key=f"roadmap:suggestion:{suggestion.id}:epic",
        )
        if key:
            RoadmapSuggestion.objects.filter(id=suggestion.id, jira_issue_key="").update(
                jira_issue_key=key, updated_at=timezone.now()
            )
            sent["jira_opened"].append(key)
    # Every critical or high item's epic, this run's and earlier ones (a retry's too).
    for suggestion in project.suggestions.exclude(jira_issue_key="").select_related("theme"):
        if suggestion.effective_priority in EPIC_PRIORITIES:
            sent["jira_epics"][suggestion.theme.name] = suggestion.jira_issue_key
    return sent


def generation_log_record(
    *,
    project: Project,
    job: Job | None,
    started_at: dt.datetime,
    success: bool,
    suggestions: int = 0,
    error: str = "",
) -> RoadmapGenerationLog:
    """One row per run: its time, the tokens its LLM calls used, and whether it succeeded."""
    tokens = 0
    if job is not None:
        tokens = (
            GenerationLog.objects.filter(job=job, created_at__gte=started_at).aggregate(
                t=Sum("prompt_tokens") + Sum("completion_tokens")
            )["t"]
            or 0
        )
    elapsed = int((timezone.now() - started_at).total_seconds() * 1000)
    return RoadmapGenerationLog.objects.create(
        project=project,
        job=job,
        success=success,
        generation_time_ms=max(0, elapsed),
        gpt4_tokens_used=tokens,
        suggestions=suggestions,
        error=error[:2000],
    )
