"""The scanner job: upsert by slug, dry runs, the audit trail, caps, evidence, lookback."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jobs.models import Job
from tests.conftest import drain
from tests.themes.builders import WORDS, interview, interviews_about
from themes.models import AuditEntry, Theme, ThemeEvidence
from themes.services import theme_scan_start

pytestmark = pytest.mark.django_db(transaction=True)


def run_scan(org, **options) -> Any:
    job = theme_scan_start(organization=org, source="internal", **options)
    drain()
    job.refresh_from_db()
    assert job.status == "completed", job.error
    return job.output


def test_a_second_scan_of_the_same_interviews_updates_and_does_not_duplicate(org, clean_queue):
    interviews_about(org, WORDS[:3])

    first = run_scan(org)
    themes_after_first = list(Theme.objects.values_list("slug", "occurrences"))
    second = run_scan(org)

    assert (first["themes_created"], first["themes_updated"], first["links_created"]) == (3, 0, 6)
    assert (second["themes_created"], second["themes_updated"]) == (0, 3)
    assert second["links_created"] == 0
    assert {t["action"] for t in second["themes"]} == {"updated"}
    assert sorted(Theme.objects.values_list("slug", "occurrences")) == sorted(themes_after_first)
    assert ThemeEvidence.objects.count() == 6


def test_every_write_has_an_audit_entry_naming_the_job_with_before_and_after(org, clean_queue):
    interviews_about(org, WORDS[:2])
    run_scan(org)
    Theme.objects.filter(slug="pricing").update(description="edited by hand")

    run_scan(org)

    jobs = list(Job.objects.filter(type="themes.scan").order_by("created_at"))
    created = AuditEntry.objects.filter(job=jobs[0])
    assert sorted(created.values_list("tool", "action")) == sorted(
        [("theme_upsert", "create")] * 2 + [("evidence_link", "link")] * 4
        + [("occurrences_refresh", "update")] * 2)
    assert all(e.actor.startswith(f"job:{jobs[0].id}") for e in created)
    update = AuditEntry.objects.get(job=jobs[1], tool="theme_upsert", entity_id=str(
        Theme.objects.get(slug="pricing").id))
    assert update.before["description"] == "edited by hand"
    assert update.after["description"] != "edited by hand"
    # the second run linked nothing new and changed no occurrences
    assert set(AuditEntry.objects.filter(job=jobs[1]).values_list("tool", flat=True)) == {
        "theme_upsert"}


def test_a_dry_run_writes_nothing_and_says_what_it_would_do(org, clean_queue):
    interviews_about(org, WORDS[:2])
    dry = run_scan(org, dry_run=True)

    assert dry["dry_run"] is True
    assert {t["action"] for t in dry["themes"]} == {"would_create"}
    assert (dry["themes_created"], dry["links_created"]) == (2, 4)
    assert not Theme.objects.exists() and not ThemeEvidence.objects.exists()
    assert not AuditEntry.objects.exists()

    run_scan(org)
    audit_rows = AuditEntry.objects.count()
    interview(org, "Pricing is steep for us.", title="new")
    again = run_scan(org, dry_run=True)

    pricing = next(t for t in again["themes"] if t["slug"] == "pricing")
    assert (pricing["action"], pricing["occurrences"]) == ("would_update", 3)
    assert Theme.objects.get(slug="pricing").occurrences == 2
    assert AuditEntry.objects.count() == audit_rows


def test_the_caps_keep_the_strongest_themes_and_skipped_says_why(org, clean_queue, settings):
    settings.MAX_THEMES_PER_RUN = 2
    settings.MAX_LINKS_PER_THEME = 3
    interviews_about(org, WORDS[:1], copies=5)   # pricing: 5 interviews
    interviews_about(org, WORDS[1:2], copies=4)  # onboarding: 4
    interviews_about(org, WORDS[2:4], copies=2)  # exports, search: 2 each

    result = run_scan(org)

    assert [t["slug"] for t in result["themes"]] == ["pricing", "onboarding"]
    skipped = {(s["slug"], s["reason"]) for s in result["skipped"]}
    assert skipped == {
        ("pricing", "MAX_LINKS_PER_THEME (3) reached"),
        ("onboarding", "MAX_LINKS_PER_THEME (3) reached"),
        ("exports", "MAX_THEMES_PER_RUN (2) reached"),
        ("search", "MAX_THEMES_PER_RUN (2) reached"),
    }
    dropped = {s["slug"]: s.get("links_dropped") for s in result["skipped"]}
    assert (dropped["pricing"], dropped["onboarding"]) == (2, 1)
    assert sorted(Theme.objects.values_list("slug", flat=True)) == ["onboarding", "pricing"]
    assert max(t.evidence.count() for t in Theme.objects.all()) == 3


def test_evidence_the_model_invents_is_dropped_and_reported(org, clean_queue, fake_openai):
    a = interview(org, "Pricing is unclear.")
    b = interview(org, "Pricing tiers confuse us.")
    old = interview(org, "Pricing again.", days_ago=90)
    fake_openai.reply = json.dumps({"themes": [
        {"name": "Pricing clarity", "description": "Plans are unclear.", "confidence_score": 0.9,
         "evidence": [
             {"interview_id": str(a.id), "quote_id": a.quotes.get().id},
             {"interview_id": str(b.id), "quote_id": b.quotes.get().id},
             {"interview_id": str(b.id), "quote_id": a.quotes.get().id},  # not b's quote
             {"interview_id": str(old.id), "quote_id": None},  # outside the lookback
         ]},
        {"name": "Made up", "confidence_score": 0.5,
         "evidence": [{"interview_id": "00000000-0000-0000-0000-000000000000"}]},
        {"name": "!!!", "confidence_score": 0.5, "evidence": []},
    ]})

    result = run_scan(org)

    assert result["offline"] is False
    assert [(t["slug"], t["occurrences"]) for t in result["themes"]] == [("pricing-clarity", 2)]
    reasons = {s.get("slug"): s for s in result["skipped"]}
    assert reasons["pricing-clarity"]["links_dropped"] == 2
    assert reasons["made-up"]["reason"] == "No evidence among the scanned interviews"
    assert reasons[None]["reason"] == "The name has no usable slug"
    assert ThemeEvidence.objects.count() == 2
    prompt = fake_openai.calls("/v1/chat/completions")[0].json()["messages"][-1]["content"]
    assert str(a.id) in prompt and str(old.id) not in prompt


def test_lookback_and_max_interviews_bound_what_is_read(org, clean_queue):
    interviews_about(org, ["pricing"], days_ago=2)
    interviews_about(org, ["search"], days_ago=20)

    recent = run_scan(org, lookback_days=10, dry_run=True)
    newest_two = run_scan(org, max_interviews=2, dry_run=True)
    nothing = run_scan(org, lookback_days=1, dry_run=True)

    assert [t["slug"] for t in recent["themes"]] == ["pricing"]
    assert [t["slug"] for t in newest_two["themes"]] == ["pricing"]
    assert nothing["themes"] == []
    assert nothing["skipped"] == [{"reason": "No interviews in the last 1 days"}]


def test_transcript_only_interviews_are_read_and_their_links_not_duplicated(org, clean_queue):
    for n, opening in enumerate(["We met on Monday.", "Quick chat with finance."]):
        interview(org, transcript=f"{opening} The onboarding took forever.", title=f"t{n}")

    run_scan(org)
    run_scan(org)

    theme = Theme.objects.get()
    assert theme.slug == "onboarding" and theme.occurrences == 2
    assert list(theme.evidence.values_list("quote_id", flat=True)) == [None, None]


def test_a_retry_reuses_the_models_answer(org, clean_queue, fake_openai):
    a, b = interview(org, "Search is slow."), interview(org, "Search misses notes.")
    fake_openai.reply = json.dumps({"themes": [{"name": "Search", "confidence_score": 0.8,
        "evidence": [{"interview_id": str(i.id)} for i in (a, b)]}]})
    job = theme_scan_start(organization=org, source="internal")
    # The answer is stored as a step; make the write step fail once, as a crash would.
    Theme.objects.create(organization=org, name="Blocker", slug="search", occurrences=0)
    fail_once = "CREATE OR REPLACE FUNCTION t_fail() RETURNS trigger AS $$ BEGIN " \
        "IF (SELECT count(*) FROM themes_auditentry) = 0 AND " \
        "NOT EXISTS (SELECT 1 FROM jobs_jobevent WHERE kind='retry_scheduled') " \
        "THEN RAISE EXCEPTION 'disk full'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
    from django.db import connection
    with connection.cursor() as cursor:
        cursor.execute(fail_once)
        cursor.execute("CREATE TRIGGER t_fail BEFORE INSERT ON themes_auditentry "
                       "FOR EACH ROW EXECUTE FUNCTION t_fail()")
    try:
        drain()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER t_fail ON themes_auditentry; DROP FUNCTION t_fail()")

    job.refresh_from_db()
    assert (job.status, job.attempts) == ("completed", 2)
    assert len(fake_openai.calls("/v1/chat/completions")) == 1
    assert job.output["themes"][0]["action"] == "updated"


def test_a_scan_of_an_organization_deactivated_meanwhile_ends_quietly(org, clean_queue):
    interviews_about(org, WORDS[:2])
    job = theme_scan_start(organization=org, source="schedule")
    org.is_active = False
    org.save()

    drain()

    job.refresh_from_db()
    assert job.status == "completed"
    assert job.output["skipped"] == [{"reason": "The organization is no longer active"}]
    assert not Theme.objects.exists()


def _links(slug: str) -> list[str]:
    return [str(i) for i in ThemeEvidence.objects.filter(theme__slug=slug)
            .order_by("id").values_list("interview_id", flat=True)]


def test_the_links_cap_counts_the_links_a_theme_already_has(org, clean_queue, settings):
    settings.MAX_LINKS_PER_THEME = 3
    older = interviews_about(org, WORDS[:2], copies=2, days_ago=5)
    first = run_scan(org)
    assert first["links_created"] == 4 and not first["skipped"]
    # Newer interviews come first in the evidence, ahead of the linked ones.
    newer = interviews_about(org, WORDS[:2], copies=3, days_ago=1)

    dry = run_scan(org, dry_run=True)
    second = run_scan(org)
    third = run_scan(org)

    assert (dry["links_created"], second["links_created"], third["links_created"]) == (2, 2, 0)
    for result, dropped in ((dry, 2), (second, 2), (third, 2)):
        assert {(s["slug"], s["reason"], s["links_dropped"]) for s in result["skipped"]} == {
            (slug, "MAX_LINKS_PER_THEME (3) reached", dropped)
            for slug in ("pricing", "onboarding")}
        assert {t["slug"]: t["occurrences"] for t in result["themes"]} == {
            "pricing": 3, "onboarding": 3}
    for word in WORDS[:2]:
        links = _links(word)
        assert len(links) == 3
        # the two it had, then the newest of the new ones
        assert set(links[:2]) == {str(i.id) for i in older if i.title.startswith(word)}
        assert links[2] in {str(i.id) for i in newer if i.title.startswith(word)}


def test_new_evidence_after_the_linked_items_is_linked_while_the_theme_has_room(
    org, clean_queue, settings
):
    settings.MAX_LINKS_PER_THEME = 4
    newer = interviews_about(org, WORDS[:2], copies=2, days_ago=1)
    run_scan(org)
    # Older interviews come after the linked ones in the evidence.
    older = interviews_about(org, WORDS[:2], copies=3, days_ago=5)

    second = run_scan(org)

    assert second["links_created"] == 4
    assert {(s["slug"], s["links_dropped"]) for s in second["skipped"]} == {
        ("pricing", 1), ("onboarding", 1)}
    for word in WORDS[:2]:
        links = _links(word)
        assert set(links[:2]) == {str(i.id) for i in newer if i.title.startswith(word)}
        assert set(links[2:]) < {str(i.id) for i in older if i.title.startswith(word)}
        assert len(links) == 4

    settings.MAX_LINKS_PER_THEME = 6  # room again: the one left out is linked now
    third = run_scan(org)
    assert third["links_created"] == 2 and not third["skipped"]
    assert all(len(_links(word)) == 5 for word in WORDS[:2])
