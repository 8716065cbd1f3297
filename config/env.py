"""Reading settings from the environment: one strict parser per kind of value.

Every parser takes the variable's name first and a default, and raises
ImproperlyConfigured naming the variable when its value does not parse or is
out of range: a typo stops the start instead of being guessed at (django-environ
alone reads an unknown word as False and lets a bad number through as a
ValueError without the variable's name). A secret may also come from the file
that `<NAME>_FILE` names (container secrets).

    from config.env import boolean, integer, number, secret

    OPS_METRICS_PUBLIC = boolean("OPS_METRICS_PUBLIC", False)
    REPORTS_MAX_TOKENS = integer("REPORTS_MAX_TOKENS", 1500, low=64, high=8192)
    LLM_TIMEOUT_SECONDS = number("LLM_TIMEOUT_SECONDS", 60.0, above=0)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import TypeVar

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})

N = TypeVar("N", int, float)


def _raw(name: str) -> str | None:
    """The variable's value, or None when it is unset or blank (then the default holds)."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def secret(name: str, default: str = "") -> str:
    """A secret from NAME, or from the file NAME_FILE points at."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={path!r} cannot be read: {exc}") from exc
    return string(name, default)


def string(name: str, default: str = "") -> str:
    """The value as it is (django-environ's, so `$OTHER` proxies keep working)."""
    return str(env.str(name, default=default))


def choice(name: str, default: str, choices: Collection[str]) -> str:
    """One of `choices`, case-insensitive (returned lower-cased)."""
    value = string(name, default).strip().lower() or default
    if value not in choices:
        raise ImproperlyConfigured(
            f"{name} must be one of {', '.join(sorted(choices))}, not {value!r}"
        )
    return value


def boolean(name: str, default: bool) -> bool:
    """true/false, yes/no, on/off or 1/0; anything else stops the start."""
    raw = _raw(name)
    if raw is None:
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def _bounded(name: str, value: N, *, low: N | None, high: N | None, above: N | None) -> N:
    if above is not None and not value > above:
        raise ImproperlyConfigured(f"{name} must be > {above}, got {value}")
    if low is not None and high is not None and not low <= value <= high:
        raise ImproperlyConfigured(f"{name} must be between {low} and {high}, got {value}")
    if low is not None and value < low:
        raise ImproperlyConfigured(f"{name} must be >= {low}, got {value}")
    if high is not None and value > high:
        raise ImproperlyConfigured(f"{name} must be <= {high}, got {value}")
    return value


def integer(
    name: str, default: int, *, low: int | None = 0, high: int | None = None,
    above: int | None = None,
) -> int:
    """An integer in [low, high] (by default >= 0); `above` is an exclusive lower bound."""
    raw = _raw(name)
    if raw is None:
        value = default
    else:
        try:
            value = int(raw)
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    return _bounded(name, value, low=low, high=high, above=above)


def number(
    name: str, default: float, *, low: float | None = 0.0, high: float | None = None,
    above: float | None = None,
) -> float:
    """A number in [low, high] (by default >= 0); `above` is an exclusive lower bound."""
    raw = _raw(name)
    if raw is None:
        value = float(default)
    else:
        try:
            value = float(raw)
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise ImproperlyConfigured(f"{name} must be a finite number, got {raw!r}")
    return _bounded(name, value, low=low, high=high, above=above)


def positive_int(name: str, default: int) -> int:
    """An integer >= 0 (the historic name: zero is allowed)."""
    return integer(name, default, low=0)


def positive_float(name: str, default: float) -> float:
    """A number >= 0 (the historic name: zero is allowed)."""
    return number(name, default, low=0.0)


def ratio(name: str, default: float) -> float:
    """A number between 0 and 1."""
    return number(name, default, low=0.0, high=1.0)


def string_list(name: str, default: list[str]) -> list[str]:
    """Comma-separated values, each stripped; blank items are dropped."""
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def number_map(
    name: str,
    default: Mapping[str, N],
    *,
    cast: Callable[[str], N],
    keys: Collection[str] | None = None,
) -> dict[str, N]:
    """`key=number,key=number` over `default`, every number > 0; with `keys`,
    only those keys (a misspelt one stops the start)."""
    parsed: dict[str, N] = {}
    for item in string_list(name, []):
        key, sep, value = item.partition("=")
        key = key.strip()
        try:
            if not sep or not key:
                raise ValueError(f"{item!r} is not key=value")
            number_value = cast(value.strip())
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name} must look like key=1,other=2: {exc}") from None
        if keys is not None and key not in keys:
            raise ImproperlyConfigured(
                f"{name}: unknown key {key!r} (known: {', '.join(keys)})"
            )
        if not number_value > 0:
            raise ImproperlyConfigured(f"{name}: {key} must be > 0, got {number_value}")
        parsed[key] = number_value
    return {**default, **parsed}
