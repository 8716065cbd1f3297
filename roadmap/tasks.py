"""The `roadmap.regenerate` job type and the weekly refresh (a Procrastinate periodic task)."""

from __future__ import annotations

import functools
from typing import Any

from django.utils import timezone
from procrastinate.contrib.django import app

from jobs.errors import JobAbort
from jobs.registry import JobType, register
from jobs.runlogs import run_log
from jobs.runtime import JobContext
from roadmap import generation, services
from roadmap.models import Project
from roadmap.serializers import RegenerateInput


def run_regenerate(ctx: JobContext) -> dict[str, Any]:
    project = (
        Project.objects.select_related("organization").filter(id=ctx.input["project_id"]).first()
    )
    if project is None:  # deleted since: nothing to regenerate
        return {"project_id": ctx.input["project_id"], "suggestions": 0,
                "skipped": "The project no longer exists"}
    started_at = timezone.now()
    with run_log(job_type=services.REGENERATE_JOB_TYPE, job=ctx.job,
                 metadata={"project": str(project.id)}) as log:
        try:
            output = _regenerate(ctx, project)
        except JobAbort:
            raise
        except Exception as exc:
            generation.generation_log_record(project=project, job=ctx.job,
                                             started_at=started_at, success=False, error=str(exc))
            raise
        log.processed = output["suggestions"]
        log.metadata.update(output)
    # The run's log commits with the job's completion.
    ctx.on_complete(lambda: generation.generation_log_record(
        project=project, job=ctx.job, started_at=started_at, success=True,
        suggestions=output["suggestions"]))
    return output


def _regenerate(ctx: JobContext, project: Project) -> dict[str, Any]:
    ctx.progress(5, "Calculating scores...")
    scores = ctx.step("calculate-scores", lambda: generation.suggestions_score(project=project))
    ids: list[int] = scores["suggestions"]
    ctx.progress(20, f"{len(ids)} suggestions scored")
    reasoned = 0
    if ctx.input.get("generate_reasoning", True) and ids:

        def reason_all() -> int:
            asked = 0
            for index, suggestion_id in enumerate(ids, start=1):
                # Each call its own step: a retry resumes after the last one done.
                done = ctx.step(
                    f"generate-reasoning:{suggestion_id}",
                    functools.partial(
                        generation.suggestion_reasoning_generate,
                        suggestion_id=suggestion_id, interviews=scores["interviews"], job=ctx.job,
                    ),
                )
                asked += "skipped" not in done
                ctx.progress(20 + round(70 * index / len(ids)),
                             f"Reasoning {index} of {len(ids)}")
            return asked

        reasoned = ctx.step("generate-reasoning", reason_all)
    ctx.progress(92, "Notifying Slack and Jira...")
    sent = ctx.step("handoffs", lambda: generation.handoffs_send(
        project=project, job_id=ctx.job_id, newly_critical=scores["newly_critical"]))
    return {
        "project_id": str(project.id),
        "suggestions": len(ids),
        "newly_critical": len(scores["newly_critical"]),
        "reasoned": reasoned,
        "slack": sent["slack"],
        "jira_epics": sent["jira_epics"],
    }


register(JobType(
    name=services.REGENERATE_JOB_TYPE,
    handler=run_regenerate,
    title="Regenerate roadmap suggestions",
    description="Score a project's themes, explain each with the LLM, hand off to Slack/Jira.",
    input_serializer=RegenerateInput,
    max_duration_seconds=1800,  # reasoning runs at 1 request/s: a second per suggestion
    # A weekly fan-out queues one per project; they may wait behind each other.
    pending_expiry_seconds=6 * 3600,
    poll_interval_ms=2000,
    typical_duration="a second per suggestion",
    public=False,
    # One regeneration of a project runs at a time, and one more may wait.
    lock=lambda input, scope: f"roadmap:regenerate:{input['project_id']}",
    queueing_lock=lambda input, scope: f"roadmap:regenerate:{input['project_id']}",
))


@app.periodic(cron="0 6 * * 1", periodic_id="roadmap-weekly-refresh")
@app.task(name="roadmap.schedule_refresh", queue="maintenance", pass_context=False)
def schedule_refresh(timestamp: int) -> dict[str, int]:
    """Mondays at 06:00 UTC: one regeneration per active project."""
    return services.roadmap_refresh_schedule()
