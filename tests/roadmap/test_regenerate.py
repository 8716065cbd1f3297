"""roadmap.regenerate: scores, durable steps, reasoning at 1 request/s, Slack and Jira once."""

from __future__ import annotations

import pytest

from jobs.ai.models import GenerationLog
from jobs.integrations.models import SentEffect
from jobs.models import Job
from roadmap.models import Project, RoadmapGenerationLog, RoadmapSuggestion
from roadmap.services import roadmap_regenerate_start
from tests.conftest import drain, job_status, wait_for
from tests.fakes.server import Scripted
from tests.roadmap.builders import recent_interviews, scored_themes
from tests.themes.builders import theme

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _queue(clean_queue):
    return None


def regenerate(project: Project, *, reasoning: bool = True) -> Job:
    job = roadmap_regenerate_start(project=project, generate_reasoning=reasoning,
                                   source="internal")
    drain()
    job.refresh_from_db()
    return job


def levels(project: Project) -> dict[str, str]:
    return dict(project.suggestions.values_list("theme__name", "priority_level"))


def test_a_regeneration_scores_explains_and_logs_in_two_durable_steps(org, project):
    scored_themes(org)

    job = regenerate(project)

    assert job.status == "completed", job.error
    assert levels(project) == {"Pricing": "critical", "Exports": "high", "Search": "medium",
                               "Mobile": "low"}
    assert dict(project.suggestions.values_list("theme__name", "score")) == {
        "Pricing": 72.0, "Exports": 32.0, "Search": 10.0, "Mobile": 5.0}
    steps = list(job.steps.values_list("name", flat=True))
    assert steps[0] == "calculate-scores" and "generate-reasoning" in steps
    assert steps.index("generate-reasoning") > steps.index("calculate-scores")
    pricing = project.suggestions.get(theme__name="Pricing")
    assert pricing.reasoning_text.startswith("[offline] Pricing comes up in 8 of 10")
    assert GenerationLog.objects.filter(job=job, purpose="roadmap-reasoning").count() == 4
    log = RoadmapGenerationLog.objects.get()
    assert (log.success, log.job_id, log.suggestions) == (True, job.id, 4)
    assert log.gpt4_tokens_used == sum(g.total_tokens for g in GenerationLog.objects.all()) > 0
    assert job.output["suggestions"] == 4 and job.output["newly_critical"] == 1


def test_a_second_regeneration_updates_the_same_suggestions(org, project):
    themes = scored_themes(org)
    regenerate(project, reasoning=False)
    themes["Search"].occurrences = 9
    themes["Search"].save()

    regenerate(project, reasoning=False)

    assert RoadmapSuggestion.objects.count() == 4
    assert levels(project)["Search"] == "critical"


def test_a_manual_priority_adjustment_is_never_overwritten(api, org, project):
    themes = scored_themes(org)
    RoadmapSuggestion.objects.create(project=project, theme=themes["Pricing"], score=1,
                                     priority_level="low", manual_priority_adjustment="low")
    exports = RoadmapSuggestion.objects.create(project=project, theme=themes["Exports"],
                                               manual_priority_adjustment="critical")

    regenerate(project)
    regenerate(project, reasoning=False)

    pricing = project.suggestions.get(theme__name="Pricing")
    assert (pricing.priority_level, pricing.manual_priority_adjustment) == ("critical", "low")
    assert pricing.effective_priority == "low"
    exports.refresh_from_db()
    assert (exports.priority_level, exports.manual_priority_adjustment) == ("high", "critical")
    assert "so it is critical priority" in exports.reasoning_text  # explains the person's choice


def test_slack_and_jira_are_called_once_across_a_retry(org, project, fake_slack, fake_jira):
    recent_interviews(org, 10)
    theme(org, "Pricing", 8, 0.9)     # critical: announced on Slack, and an epic
    theme(org, "Exports", 4, 0.8)     # high: an epic
    theme(org, "Billing", 3, 0.9)     # high: an epic
    _, _, create = fake_jira.routes[0]
    creates = {"n": 0}

    def second_create_fails_once(rec):
        creates["n"] += 1
        if creates["n"] == 2:
            return Scripted(status=503, body={"errorMessages": ["down"], "errors": {}})
        return create(rec)

    fake_jira.routes[0] = ("POST", "/rest/api/2/issue", second_create_fails_once)

    job = regenerate(project, reasoning=False)

    assert (job.status, job.attempts) == ("completed", 2)
    posts = fake_slack.calls("/api/chat.postMessage")
    assert len(posts) == 1
    post = posts[0].json()
    assert (post["channel"], post["text"]) == (
        "#roadmap", "\U0001f6a8 1 new critical roadmap items detected!")
    # Tagged with its effect key, so a retry can look it up if the answer is lost.
    assert post["metadata"]["event_payload"] == {"key": f"roadmap:{job.id}:critical-alert"}
    # Epic 1 (Pricing, the strongest), epic 2 failing, epic 2 again, epic 3: never epic 1 twice.
    assert creates["n"] == 4
    keys = dict(project.suggestions.exclude(jira_issue_key="")
                .values_list("theme__name", "jira_issue_key"))
    assert set(keys) == {"Pricing", "Exports", "Billing"} and len(set(keys.values())) == 3
    epic = fake_jira.calls("/rest/api/2/issue")[0].json()["fields"]
    assert (epic["issuetype"], epic["priority"], epic["project"]) == (
        {"name": "Epic"}, {"name": "High"}, {"key": "CORE"})
    assert job.output["slack"] and job.output["jira_epics"] == keys


def test_only_new_unadjusted_critical_items_are_announced(org, project, fake_slack, fake_jira):
    scored_themes(org)
    billing = theme(org, "Billing", 9, 0.9)  # critical too, but a person says otherwise
    RoadmapSuggestion.objects.create(project=project, theme=billing,
                                     manual_priority_adjustment="medium")

    regenerate(project, reasoning=False)
    regenerate(project, reasoning=False)  # nothing new: no message, no second epic

    texts = [c.json()["text"] for c in fake_slack.calls("/api/chat.postMessage")]
    assert texts == ["\U0001f6a8 1 new critical roadmap items detected!"]
    # Pricing (critical) and Exports (high); Billing is medium by a person's choice.
    summaries = [c.json()["fields"]["summary"] for c in fake_jira.calls("/rest/api/2/issue")]
    assert summaries == ["Pricing", "Exports"]
    assert SentEffect.objects.filter(kind="jira").count() == 2


def test_critical_and_high_items_get_an_epic_medium_and_low_do_not(
        org, project, fake_jira):
    """Seed 000: high-priority themes get Jira epics; critical ranks above high."""
    themes = scored_themes(org)
    # A person's adjustment counts: Search (computed medium) raised to critical,
    # Exports (computed high) lowered to low.
    RoadmapSuggestion.objects.create(project=project, theme=themes["Search"],
                                     manual_priority_adjustment="critical")
    RoadmapSuggestion.objects.create(project=project, theme=themes["Exports"],
                                     manual_priority_adjustment="low")

    job = regenerate(project, reasoning=False)

    assert job.status == "completed", job.error
    keys = dict(project.suggestions.exclude(jira_issue_key="")
                .values_list("theme__name", "jira_issue_key"))
    assert set(keys) == {"Pricing", "Search"}
    assert job.output["jira_epics"] == keys
    issues = [c.json()["fields"] for c in fake_jira.calls("/rest/api/2/issue")]
    assert sorted(i["summary"] for i in issues) == ["Pricing", "Search"]
    assert {i["issuetype"]["name"] for i in issues} == {"Epic"}


def test_unconfigured_slack_and_jira_are_skipped_quietly(org, project):
    scored_themes(org)

    job = regenerate(project, reasoning=False)

    assert job.status == "completed"
    assert (job.output["slack"], job.output["jira_epics"]) == (None, {})
    assert not project.suggestions.exclude(jira_issue_key="").exists()


def test_reasoning_holds_one_request_per_second_across_two_workers(
        org, other_org, fake_openai, background_worker):
    fake_openai.reply = "Because customers keep raising it."
    projects = [Project.objects.create(organization=o, name=f"P{o.slug}")
                for o in (org, other_org)]
    for o in (org, other_org):
        recent_interviews(o, 4)
        theme(o, "Pricing", 3, 0.9)
        theme(o, "Search", 2, 0.5)
    jobs = [roadmap_regenerate_start(project=p, source="internal") for p in projects]

    background_worker(concurrency=1)
    background_worker(concurrency=1)
    wait_for(lambda: all(job_status(j.id) == "completed" for j in jobs), timeout=30)

    times = fake_openai.times("/v1/chat/completions")
    assert len(times) == 4
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    # Slots are 1 s apart; arrival at the server adds a little client-side jitter.
    assert min(gaps) >= 0.8, gaps
    assert times[-1] - times[0] >= 3 * 1.0 - 0.2, gaps
    for j in jobs:
        j.refresh_from_db()
    first, second = sorted(jobs, key=lambda j: j.started_at)
    assert second.started_at < first.completed_at  # the two workers ran at once
    assert set(RoadmapSuggestion.objects.values_list("reasoning_text", flat=True)) == {
        "Because customers keep raising it."}


def test_a_failed_run_is_logged_as_failed(org, project, fake_openai):
    scored_themes(org)
    fake_openai.fail_next(401, message="Incorrect API key provided")

    job = regenerate(project)

    assert (job.status, job.error_kind) == ("failed", "auth")
    log = RoadmapGenerationLog.objects.get()
    assert not log.success and log.error


def test_a_regeneration_of_a_project_deleted_meanwhile_ends_quietly(org, project):
    job = roadmap_regenerate_start(project=project, source="internal")
    project.delete()

    drain()

    job.refresh_from_db()
    assert (job.status, job.output["skipped"]) == ("completed", "The project no longer exists")
    assert not RoadmapGenerationLog.objects.exists()


def test_reasoning_is_asked_again_only_when_its_facts_changed(org, project):
    themes = scored_themes(org)
    first = regenerate(project)
    unchanged = regenerate(project)
    themes["Search"].occurrences = 3
    themes["Search"].save()
    RoadmapSuggestion.objects.filter(theme=themes["Mobile"]).update(
        manual_priority_adjustment="high")

    changed = regenerate(project)

    assert [j.output["reasoned"] for j in (first, unchanged, changed)] == [4, 0, 2]
    assert GenerationLog.objects.filter(purpose="roadmap-reasoning").count() == 6
    mobile = project.suggestions.get(theme__name="Mobile")
    assert "so it is high priority" in mobile.reasoning_text
