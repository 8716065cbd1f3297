"""The offline provider: deterministic answers built from the prompt's own material.

It answers when no API key is configured, so the whole product runs and is
testable with no network. The same prompt always gives the same answer, and
every answer says it is offline: `[offline] ` before text, `"offline": true`
in JSON objects that allow it, `Completion.offline`, and the generation log.

A caller that knows its domain passes `offline=fn(prompt) -> dict | str` and
gets that answer instead; without one, a schema is filled with values made
from the prompt's words, valid against the schema.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

OfflineBuilder = Callable[[str], Any]

OFFLINE_MODEL = "offline-v1"
OFFLINE_PREFIX = "[offline] "
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{3,}")
_STOP = frozenset(
    "this that with from have your they will what when were been their there about which "
    "would could should into more than them then also only some such very just each "
    "over make made most much many like these those here where while after before "
    "json answer return following given using based".split()
)
_NAME_KEYS = frozenset({"name", "title", "label", "slug", "headline"})


@dataclass
class RawAnswer:
    """A provider's answer before the client parses and logs it."""

    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    data: Any = None  # set by the offline provider, which builds data directly


def keywords(text: str, limit: int = 8) -> list[str]:
    """The prompt's most frequent content words, in order of first appearance on ties."""
    counts: dict[str, int] = {}
    for word in _WORD.findall(text.lower()):
        if word not in _STOP:
            counts[word] = counts.get(word, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    return [w for w, _ in ranked[:limit]]


def _sentences(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"(?<=[.!?])\s+|\n+", text.strip()) if p.strip()]


def _summary(text: str, start: int = 0, limit: int = 2) -> str:
    parts = _sentences(text)
    if not parts:
        return ""
    start %= len(parts)
    return " ".join(parts[start : start + limit])[:400]


class _Filler:
    """Builds a value valid against a JSON schema from one prompt, deterministically."""

    def __init__(self, root: Mapping[str, Any], prompt: str) -> None:
        self.root = root
        self.prompt = prompt
        self.words = keywords(prompt) or ["summary"]

    def _resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        ref = schema.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return schema
        node: Any = self.root
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        merged = {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
        return self._resolve(merged)

    def value(self, schema: Any, seed: int, name: str = "") -> Any:
        if schema is True or not isinstance(schema, Mapping):
            return OFFLINE_PREFIX + " ".join(self.words[:3])
        schema = self._resolve(schema)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][seed % len(schema["enum"])]
        for key in ("oneOf", "anyOf"):
            options = [o for o in schema.get(key, []) if not _is_null(o)]
            if options:
                rest = {k: v for k, v in schema.items() if k != key}
                return self.value({**rest, **self._resolve(options[0])}, seed, name)
        if "allOf" in schema:
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                part = self._resolve(part)
                props = {**merged.get("properties", {}), **part.get("properties", {})}
                required = [*merged.get("required", []), *part.get("required", [])]
                merged = {**merged, **part, "properties": props, "required": required}
            return self.value(merged, seed, name)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = (
                "object" if "properties" in schema else "array" if "items" in schema else "string"
            )
        return getattr(self, f"_{kind}", self._null)(schema, seed, name)

    def _object(self, schema: Mapping[str, Any], seed: int, name: str) -> dict[str, Any]:
        props: Mapping[str, Any] = schema.get("properties", {})
        out: dict[str, Any] = {}
        for i, (key, sub) in enumerate(props.items()):
            out[key] = True if key == "offline" else self.value(sub, seed + i, key)
        for key in schema.get("required", []):
            if key not in out:
                extra = schema.get("additionalProperties", True)
                out[key] = self.value(extra if isinstance(extra, Mapping) else True, seed, key)
        if schema.get("additionalProperties", True) is True and "offline" not in out:
            out["offline"] = True
        return out

    def _array(self, schema: Mapping[str, Any], seed: int, name: str) -> list[Any]:
        low = int(schema.get("minItems", 0))
        count = min(max(low, 1) + 2, int(schema.get("maxItems", max(low, 1) + 2)))
        items = schema.get("items", {})
        out: list[Any] = []
        for i in range(count * 3):  # room to skip duplicates when uniqueItems
            if len(out) == count:
                break
            item = self.value(items, seed + i, name)
            if schema.get("uniqueItems") and item in out:
                continue
            out.append(item)
        return out

    def _string(self, schema: Mapping[str, Any], seed: int, name: str) -> str:
        fmt = schema.get("format")
        if fmt in ("uri", "url", "iri"):
            text = f"https://example.invalid/offline/{self.words[seed % len(self.words)]}"
        elif fmt == "email":
            text = "offline@example.invalid"
        elif fmt == "date-time":
            text = "2000-01-01T00:00:00+00:00"
        elif fmt == "date":
            text = "2000-01-01"
        elif fmt == "uuid":
            text = str(uuid.uuid5(uuid.NAMESPACE_URL, f"offline:{seed}"))
        elif name.lower() in _NAME_KEYS:
            start = seed % len(self.words)
            text = " ".join((self.words[start:] + self.words[:start])[:3]).title()
        else:
            text = OFFLINE_PREFIX + (_summary(self.prompt, seed) or " ".join(self.words))
        low = int(schema.get("minLength", 0))
        while len(text) < low:
            text = f"{text} {' '.join(self.words)}"
        high = schema.get("maxLength")
        return text[: int(high)] if high is not None else text

    def _bounds(self, schema: Mapping[str, Any], step: float) -> tuple[float, float]:
        low = schema.get("minimum", schema.get("exclusiveMinimum", None))
        high = schema.get("maximum", schema.get("exclusiveMaximum", None))
        if "exclusiveMinimum" in schema and "minimum" not in schema:
            low = float(low) + step
        if "exclusiveMaximum" in schema and "maximum" not in schema:
            high = float(high) - step
        low = float(low) if low is not None else (float(high) - 10 if high is not None else 0.0)
        high = float(high) if high is not None else low + 10
        return low, high

    def _integer(self, schema: Mapping[str, Any], seed: int, name: str) -> int:
        low, high = self._bounds(schema, 1)
        low_i, high_i = int(-(-low // 1)), int(high // 1)
        return low_i + seed % (high_i - low_i + 1) if high_i >= low_i else low_i

    def _number(self, schema: Mapping[str, Any], seed: int, name: str) -> float:
        low, high = self._bounds(schema, 0.001)
        if "maximum" not in schema and "exclusiveMaximum" not in schema and low == 0.0:
            high = 1.0  # scores and confidences are the common case
        return round(low + (high - low) * ((seed % 10) / 10 + 0.05), 3)

    def _boolean(self, schema: Mapping[str, Any], seed: int, name: str) -> bool:
        return seed % 2 == 0

    def _null(self, schema: Mapping[str, Any], seed: int, name: str) -> None:
        return None


def _is_null(schema: Any) -> bool:
    return isinstance(schema, Mapping) and schema.get("type") == "null"


def fill(schema: Mapping[str, Any], prompt: str) -> Any:
    """A value valid against `schema` (for the common keywords) made from `prompt`."""
    return _Filler(schema, prompt).value(schema, _seed(prompt))


def _seed(prompt: str) -> int:
    return int(hashlib.sha256(prompt.encode()).hexdigest()[:8], 16)


def _mark(data: Any, schema: Mapping[str, Any] | None) -> Any:
    """`"offline": true` in a JSON object, where the schema allows that key."""
    if not isinstance(data, dict) or "offline" in data:
        return data
    if schema is not None and schema.get("additionalProperties", True) is False:
        return data
    return {**data, "offline": True}


def offline_answer(
    *,
    prompt: str,
    system: str,
    schema: Mapping[str, Any] | None,
    builder: OfflineBuilder | None,
) -> RawAnswer:
    """Deterministic: the same prompt always gives the same answer, marked offline."""
    data: Any = None
    if builder is not None:
        built = builder(prompt)
        if isinstance(built, str) and schema is None:
            text = built if built.startswith(OFFLINE_PREFIX) else OFFLINE_PREFIX + built
        else:
            if isinstance(built, str):
                try:  # a builder may hand back JSON text
                    built = json.loads(built)
                except json.JSONDecodeError:
                    pass
            data = _mark(built, schema)
            text = json.dumps(data) if not isinstance(data, str) else OFFLINE_PREFIX + data
    elif schema is not None:
        data = fill(schema, prompt)
        text = json.dumps(data)
    else:
        words = ", ".join(keywords(prompt, 5))
        text = f"{OFFLINE_PREFIX}{_summary(prompt)} (key points: {words})"
    return RawAnswer(
        text=text,
        model=OFFLINE_MODEL,
        prompt_tokens=len(prompt.split()) + len(system.split()),
        completion_tokens=len(text.split()),
        data=data,
    )
