"""Settings for the LLM client (jobs.ai); see docs/ai-and-integrations.md."""

from django.core.exceptions import ImproperlyConfigured

from config.settings_base import env, positive_float, secret

LLM_PROVIDER = env.str("LLM_PROVIDER", default="auto").lower()
if LLM_PROVIDER not in {"auto", "openai", "anthropic", "offline"}:
    raise ImproperlyConfigured(
        f"LLM_PROVIDER must be auto, openai, anthropic or offline, not {LLM_PROVIDER!r}"
    )
OPENAI_API_KEY = secret("OPENAI_API_KEY")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="") or None
OPENAI_MODEL = env.str("OPENAI_MODEL", default="gpt-4o-mini")
ANTHROPIC_API_KEY = secret("ANTHROPIC_API_KEY")
ANTHROPIC_BASE_URL = env.str("ANTHROPIC_BASE_URL", default="") or None
ANTHROPIC_MODEL = env.str("ANTHROPIC_MODEL", default="claude-sonnet-5")
LLM_TIMEOUT_SECONDS = positive_float("LLM_TIMEOUT_SECONDS", 60.0)
if LLM_TIMEOUT_SECONDS == 0:
    raise ImproperlyConfigured("LLM_TIMEOUT_SECONDS must be > 0")


def _budgets(name: str, default: dict[str, float]) -> dict[str, float]:
    """`key=number,key=number`, every number > 0 (strict: a typo fails at start-up)."""
    try:
        parsed = env.dict(name, cast={"value": float}, default={})
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must look like key=1.0,other=2: {exc}") from exc
    for key, value in parsed.items():
        if value <= 0:
            raise ImproperlyConfigured(f"{name}: {key} must be > 0, got {value}")
    return {**default, **parsed}


# The default shared budget per provider (requests per second, cluster-wide);
# a caller's limiter_key has its own budget (LLM_RATE_LIMITS).
LLM_REQUESTS_PER_SECOND = positive_float("LLM_REQUESTS_PER_SECOND", 5.0)
if LLM_REQUESTS_PER_SECOND == 0:
    raise ImproperlyConfigured("LLM_REQUESTS_PER_SECOND must be > 0")
LLM_RATE_LIMITS = _budgets("LLM_RATE_LIMITS", {"roadmap-reasoning": 1.0})
# Tokens per minute per provider (openai=90000,anthropic=40000); unset: no token budget.
LLM_TOKENS_PER_MINUTE = _budgets("LLM_TOKENS_PER_MINUTE", {})
# A call whose slot is further away than this is not made: the job is retried later.
LLM_RATE_LIMIT_MAX_WAIT_SECONDS = positive_float("LLM_RATE_LIMIT_MAX_WAIT_SECONDS", 120.0)
