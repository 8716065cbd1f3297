"""Settings for the report builder (reports); see docs/reports.md.

Every value is parsed strictly: a bad one stops the start with ImproperlyConfigured.
"""

from config.env import choice, integer

# Which LLM provider writes report content: auto (Anthropic's Claude when its key
# is set, else the LLM_PROVIDER choice), or anthropic / openai / offline.
REPORTS_LLM_PROVIDER = choice(
    "REPORTS_LLM_PROVIDER", "auto", {"auto", "anthropic", "openai", "offline"})

# How often the editor polls a GENERATE / REFINE / ANALYZE job (the seed's 1000 ms).
REPORTS_POLL_INTERVAL_MS = integer("REPORTS_POLL_INTERVAL_MS", 1000, low=200, high=60_000)
# A running analysis job past this is stopped and fails as expired.
REPORTS_MAX_DURATION_SECONDS = integer("REPORTS_MAX_DURATION_SECONDS", 180, low=10, high=3600)
# The longest answer asked of the model, in tokens.
REPORTS_MAX_TOKENS = integer("REPORTS_MAX_TOKENS", 1500, low=64, high=8192)
