"""Settings for the LLM client (jobs.ai); see docs/ai-and-integrations.md."""

from config.env import choice, number, number_map, secret, string

LLM_PROVIDER = choice("LLM_PROVIDER", "auto", {"auto", "openai", "anthropic", "offline"})
OPENAI_API_KEY = secret("OPENAI_API_KEY")
OPENAI_BASE_URL = string("OPENAI_BASE_URL") or None
OPENAI_MODEL = string("OPENAI_MODEL", "gpt-4o-mini")
ANTHROPIC_API_KEY = secret("ANTHROPIC_API_KEY")
ANTHROPIC_BASE_URL = string("ANTHROPIC_BASE_URL") or None
ANTHROPIC_MODEL = string("ANTHROPIC_MODEL", "claude-sonnet-5")
LLM_TIMEOUT_SECONDS = number("LLM_TIMEOUT_SECONDS", 60.0, above=0)

# The default shared budget per provider (requests per second, cluster-wide);
# a caller's limiter_key has its own budget (LLM_RATE_LIMITS: key=1.0,other=2,
# every number > 0).
LLM_REQUESTS_PER_SECOND = number("LLM_REQUESTS_PER_SECOND", 5.0, above=0)
LLM_RATE_LIMITS = number_map("LLM_RATE_LIMITS", {"roadmap-reasoning": 1.0}, cast=float)
# Tokens per minute per provider (openai=90000,anthropic=40000); unset: no token budget.
LLM_TOKENS_PER_MINUTE = number_map("LLM_TOKENS_PER_MINUTE", {}, cast=float)
# A call whose slot is further away than this is not made: the job is retried later.
LLM_RATE_LIMIT_MAX_WAIT_SECONDS = number("LLM_RATE_LIMIT_MAX_WAIT_SECONDS", 120.0)
