"""The roadmap app's job types (imported by RoadmapConfig.ready)."""

from __future__ import annotations

from jobs.registry import JobType, register
from roadmap import services
from roadmap.handlers.regenerate import run_regenerate
from roadmap.serializers import RegenerateInput

REGENERATE = register(JobType(
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
