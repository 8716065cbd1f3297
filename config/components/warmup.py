"""Settings for the warmup jobs (warmup); see docs/warmup.md.

The defaults are the seed's numbers (Background Warmup Jobs). Every value is
parsed strictly: a bad one stops the start with ImproperlyConfigured.
"""

from django.core.exceptions import ImproperlyConfigured

from config.env import integer, number, secret

# Shared secrets of the trigger endpoints; unset (the default) disables them.
JOB_SECRET = secret("JOB_SECRET")
WARMUP_SECRET = secret("WARMUP_SECRET")

# Cache lifetimes: served as fresh, then served stale (and refreshed), then gone.
WARMUP_FRESH_DAYS = integer("WARMUP_FRESH_DAYS", 7, low=1, high=365)
WARMUP_STALE_DAYS = integer("WARMUP_STALE_DAYS", 30, low=1, high=365)
if WARMUP_STALE_DAYS < WARMUP_FRESH_DAYS:
    raise ImproperlyConfigured("WARMUP_STALE_DAYS must be >= WARMUP_FRESH_DAYS")

WARMUP_FORECAST_HORIZON_WEEKS = integer("WARMUP_FORECAST_HORIZON_WEEKS", 12, low=1, high=104)

# Per run: how many comparisons (the seed's maxima) and how many at once.
WARMUP_FORECASTS_LIMIT = integer("WARMUP_FORECASTS_LIMIT", 50, low=1, high=50)
WARMUP_FORECASTS_CONCURRENCY = integer("WARMUP_FORECASTS_CONCURRENCY", 5, low=1, high=5)
WARMUP_AI_LIMIT = integer("WARMUP_AI_LIMIT", 30, low=1, high=30)
WARMUP_AI_CONCURRENCY = integer("WARMUP_AI_CONCURRENCY", 3, low=1, high=3)

# Maximum lock holds in seconds (1 h, 2 h, 30 min); a run past its maximum
# loses its lock and stops.
WARMUP_FORECASTS_LOCK_SECONDS = number("WARMUP_FORECASTS_LOCK_SECONDS", 3600.0, above=0)
WARMUP_AI_LOCK_SECONDS = number("WARMUP_AI_LOCK_SECONDS", 7200.0, above=0)
WARMUP_ON_DEMAND_LOCK_SECONDS = number("WARMUP_ON_DEMAND_LOCK_SECONDS", 1800.0, above=0)
