"""The offline extractor: quotes clustered into themes by keywords, from the prompt alone."""

from __future__ import annotations

import uuid

from themes.offline import offline_themes, stem

A, B, C = (str(uuid.UUID(int=n)) for n in (1, 2, 3))


def prompt(*lines: tuple[str, int | None, str]) -> str:
    return "\n".join(
        ["Customer interviews, one line per quote:", "## Call (2026-11-01)"]
        + [f"- [{i}|{'-' if q is None else q}] {text}" for i, q, text in lines]
    )


def names(answer: dict) -> list[str]:
    return [t["name"] for t in answer["themes"]]


def test_quotes_sharing_a_keyword_across_interviews_become_one_theme_with_their_evidence():
    answer = offline_themes(prompt(
        (A, 1, "Exporting dashboards is painful."),
        (B, 2, "CSV exports drop columns."),
        (C, 3, "Search never finds anything."),
    ))

    assert names(answer) == ["Exports"]
    assert answer["themes"][0]["evidence"] == [
        {"interview_id": A, "quote_id": 1}, {"interview_id": B, "quote_id": 2}]


def test_a_keyword_in_one_interview_only_is_not_a_theme():
    answer = offline_themes(prompt((A, 1, "Pricing hurts."), (A, 2, "Pricing again.")))

    assert answer["themes"] == []


def test_a_word_in_every_quote_does_not_make_a_theme():
    answer = offline_themes(prompt(
        (A, 1, "The pricing story."), (B, 2, "The pricing story again."),
        (A, 3, "The search story."), (C, 4, "The search story too."),
        (C, 5, "The billing story."),
    ))

    assert names(answer) == ["Pricing", "Search"]


def test_each_quote_is_evidence_for_one_theme_and_transcript_lines_have_no_quote():
    answer = offline_themes(prompt(
        (A, None, "Onboarding took two weeks."), (B, None, "Onboarding videos drag on."),
        (C, 7, "Onboarding checklist, pricing page."), (A, 8, "Pricing page confusing."),
    ))

    evidence = {t["name"]: t["evidence"] for t in answer["themes"]}
    assert [e["quote_id"] for e in evidence["Onboarding"]] == [None, None, 7]
    assert sum(len(e) for e in evidence.values()) <= 4


def test_the_answer_is_deterministic_and_confidence_grows_with_reach():
    text = prompt((A, 1, "Pricing hurts."), (B, 2, "Pricing confuses."), (C, 3, "Pricing!"),
                  (A, 4, "Search slow."), (B, 5, "Search broken."))

    first, second = offline_themes(text), offline_themes(text)

    assert first == second
    by_name = {t["name"]: t["confidence_score"] for t in first["themes"]}
    assert by_name["Pricing"] > by_name["Search"]
    assert all(0 < c <= 0.95 for c in by_name.values())


def test_stems_put_plural_and_ing_forms_together():
    assert stem("exports") == stem("exporting") == stem("export") == "export"
    assert stem("companies") == "company"
    assert stem("business") == "business"


def test_a_word_that_spans_topics_is_no_topic_itself():
    answer = offline_themes(prompt(
        (A, 1, "The pricing story, first."), (B, 2, "The pricing story, second."),
        (A, 3, "The search story, first."), (C, 4, "The search story, second."),
        (C, 5, "Pricing hurts."),
    ))

    assert names(answer) == ["Pricing", "Search"]
    assert len(answer["themes"][0]["evidence"]) == 3
