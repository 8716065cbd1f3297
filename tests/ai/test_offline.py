"""The offline provider: deterministic, from the prompt's material, valid, marked offline."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from jobs.ai import llm
from jobs.ai.models import GenerationLog
from jobs.ai.offline import fill
from jobs.errors import PermanentJobError

PROMPT = (
    "Customers say onboarding is slow. Onboarding emails arrive late.\n"
    "Pricing is unclear on the pricing page. Exports fail for large workspaces."
)

SCHEMAS: dict[str, dict[str, Any]] = {
    "nested arrays and nullable": {
        "type": "object",
        "properties": {
            "themes": {
                "type": "array",
                "minItems": 2,
                "maxItems": 4,
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "minLength": 1, "maxLength": 20},
                        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                        "quote_id": {"type": ["integer", "null"]},
                    },
                    "required": ["name", "confidence"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["themes"],
    },
    "refs, enums and formats": {
        "$defs": {"priority": {"type": "string", "enum": ["low", "medium", "high"]}},
        "type": "object",
        "properties": {
            "priority": {"$ref": "#/$defs/priority"},
            "link": {"type": "string", "format": "uri"},
            "due": {"type": "string", "format": "date"},
            "score": {"type": "integer", "exclusiveMinimum": 0, "maximum": 5},
            "tags": {"type": "array", "items": {"enum": ["a", "b", "c"]}, "uniqueItems": True},
        },
        "required": ["priority", "link", "due", "score", "tags"],
    },
    "anyOf and allOf": {
        "allOf": [
            {"type": "object", "properties": {"summary": {"type": "string", "minLength": 30}},
             "required": ["summary"]},
            {"properties": {"verdict": {"anyOf": [{"type": "null"}, {"type": "boolean"}]}},
             "required": ["verdict"]},
        ]
    },
}


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_filled_data_is_valid_against_the_schema_and_the_same_every_time(name):
    schema = SCHEMAS[name]

    data = fill(schema, PROMPT)

    jsonschema.validate(data, schema)
    assert fill(schema, PROMPT) == data


def test_filled_text_comes_from_the_prompt_and_says_offline():
    data = fill({"type": "object", "properties": {"summary": {"type": "string"},
                                                   "title": {"type": "string"}}}, PROMPT)

    assert data["summary"].startswith("[offline] ")
    assert any(word in data["summary"].lower() for word in ("onboarding", "pricing", "exports"))
    assert data["title"] and all(w in PROMPT.lower() for w in data["title"].lower().split())
    assert data["offline"] is True


def test_a_closed_object_gets_no_marker_but_its_strings_still_say_offline():
    schema = {"type": "object", "properties": {"text": {"type": "string"}},
              "required": ["text"], "additionalProperties": False}

    data = fill(schema, PROMPT)

    assert set(data) == {"text"} and data["text"].startswith("[offline] ")


@pytest.fixture
def offline(settings):
    settings.LLM_PROVIDER = "auto"
    settings.OPENAI_API_KEY = ""
    settings.ANTHROPIC_API_KEY = ""


@pytest.mark.django_db
def test_a_builder_may_answer_json_text_for_a_schema(offline):
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}

    result = llm.complete(prompt="count", schema=schema, offline=lambda p: '{"n": 3}')

    assert result.data == {"n": 3, "offline": True} and result.offline


@pytest.mark.django_db
def test_a_builder_whose_answer_breaks_the_schema_fails_permanently_and_is_logged(offline):
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}

    with pytest.raises(PermanentJobError, match="offline provider's answer does not match"):
        llm.complete(prompt="count", schema=schema, offline=lambda p: {"n": "three"},
                     purpose="broken-builder")

    log = GenerationLog.objects.get(purpose="broken-builder")
    assert not log.success and log.error_kind == "permanent" and log.offline


@pytest.mark.django_db
def test_offline_text_answers_are_prefixed_once(offline):
    result = llm.complete(prompt="x", offline=lambda p: "[offline] already marked")

    assert result.text == "[offline] already marked"
    assert result.model == "offline-v1" and result.completion_tokens == 3
