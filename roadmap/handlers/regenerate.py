"""`roadmap.regenerate`: score a project's themes, explain each with the LLM, hand off
(an async handler).

Every part is a durable step: the scores, each suggestion's reasoning (its own
step, so a retry resumes after the last one the model answered), the handoffs.
The reasoning calls await the provider on the async client (no thread, no
connection held while the model writes); the scoring, the writes and the
Slack/Jira handoffs (sync ORM and HTTP with idempotency keys) are the sync
code of `roadmap.generation` on the worker's database pool (`jobs.aio`).
"""

from __future__ import annotations

import functools
from typing import Any

from django.utils import timezone

from jobs import aio
from jobs.aruntime import AsyncJobContext
from jobs.errors import JobAbort
from jobs.runlogs import arun_log
from roadmap import generation, services
from roadmap.models import Project


def _project(project_id: Any) -> Project | None:
    return Project.objects.select_related("organization").filter(id=project_id).first()


async def run_regenerate(ctx: AsyncJobContext) -> dict[str, Any]:
    project = await aio.db(_project, ctx.input["project_id"])
    if project is None:  # deleted since: nothing to regenerate
        return {"project_id": ctx.input["project_id"], "suggestions": 0,
                "skipped": "The project no longer exists"}
    started_at = timezone.now()
    async with arun_log(job_type=services.REGENERATE_JOB_TYPE, job=ctx.job,
                        metadata={"project": str(project.id)}) as log:
        try:
            output = await _regenerate(ctx, project)
        except JobAbort:
            raise
        except Exception as exc:
            await aio.db(generation.generation_log_record, project=project, job=ctx.job,
                         started_at=started_at, success=False, error=str(exc))
            raise
        log.processed = output["suggestions"]
        log.metadata.update(output)
    # The run's log commits with the job's completion.
    ctx.on_complete(lambda: generation.generation_log_record(
        project=project, job=ctx.job, started_at=started_at, success=True,
        suggestions=output["suggestions"]))
    return output


async def _regenerate(ctx: AsyncJobContext, project: Project) -> dict[str, Any]:
    await ctx.progress(5, "Calculating scores...")
    scores = await ctx.step(
        "calculate-scores", lambda: aio.db(generation.suggestions_score, project=project))
    ids: list[int] = scores["suggestions"]
    await ctx.progress(20, f"{len(ids)} suggestions scored")
    reasoned = 0
    if ctx.input.get("generate_reasoning", True) and ids:

        async def reason_all() -> int:
            asked = 0
            for index, suggestion_id in enumerate(ids, start=1):
                # Each call its own step: a retry resumes after the last one done.
                done = await ctx.step(
                    f"generate-reasoning:{suggestion_id}",
                    functools.partial(
                        generation.suggestion_reasoning_generate,
                        suggestion_id=suggestion_id, interviews=scores["interviews"], job=ctx.job,
                    ),
                )
                asked += "skipped" not in done
                await ctx.progress(20 + round(70 * index / len(ids)),
                                   f"Reasoning {index} of {len(ids)}")
            return asked

        reasoned = await ctx.step("generate-reasoning", reason_all)
    await ctx.progress(92, "Notifying Slack and Jira...")
    sent = await ctx.step("handoffs", lambda: aio.db(
        generation.handoffs_send, project=project, job_id=ctx.job_id,
        newly_critical=scores["newly_critical"]))
    return {
        "project_id": str(project.id),
        "suggestions": len(ids),
        "newly_critical": len(scores["newly_critical"]),
        "reasoned": reasoned,
        "slack": sent["slack"],
        "jira_epics": sent["jira_epics"],
    }
