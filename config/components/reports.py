"""Settings for the report builder (reports); see docs/reports.md.

Every value is parsed strictly: a bad one stops the start with ImproperlyConfigured.
"""

from django.core.exceptions import ImproperlyConfigured

from config.settings_base import env


def _int_between(name: str, default: int, low: int, high: int) -> int:
    try:
        value = env.int(name, default=default)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer: {exc}") from exc
    if not low <= value <= high:
        raise ImproperlyConfigured(f"{name} must be between {low} and {high}, got {value}")
    return value


# Which LLM provider writes report content: auto (Anthropic's Claude when its key
# is set, else the LLM_PROVIDER choice), or anthropic / openai / offline.
REPORTS_LLM_PROVIDER = env.str("REPORTS_LLM_PROVIDER", default="auto").lower()
if REPORTS_LLM_PROVIDER not in {"auto", "anthropic", "openai", "offline"}:
    raise ImproperlyConfigured("REPORTS_LLM_PROVIDER must be auto, anthropic, openai or offline")

# How often the editor polls a GENERATE / REFINE / ANALYZE job (the seed's 1000 ms).
REPORTS_POLL_INTERVAL_MS = _int_between("REPORTS_POLL_INTERVAL_MS", 1000, 200, 60_000)
# A running analysis job past this is stopped and fails as expired.
REPORTS_MAX_DURATION_SECONDS = _int_between("REPORTS_MAX_DURATION_SECONDS", 180, 10, 3600)
# The longest answer asked of the model, in tokens.
REPORTS_MAX_TOKENS = _int_between("REPORTS_MAX_TOKENS", 1500, 64, 8192)
