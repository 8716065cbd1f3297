"""Settings for the warmup jobs (warmup); see docs/warmup.md.

The defaults are the seed's numbers (Background Warmup Jobs). Every value is
parsed strictly: a bad one stops the start with ImproperlyConfigured.
"""

from django.core.exceptions import ImproperlyConfigured

from config.settings_base import env, secret


def _int_between(name: str, default: int, low: int, high: int) -> int:
    try:
        value = env.int(name, default=default)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer: {exc}") from exc
    if not low <= value <= high:
        raise ImproperlyConfigured(f"{name} must be between {low} and {high}, got {value}")
    return value


def _seconds(name: str, default: float) -> float:
    try:
        value = env.float(name, default=default)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number of seconds: {exc}") from exc
    if not value > 0:
        raise ImproperlyConfigured(f"{name} must be > 0, got {value}")
    return value


# Shared secrets of the trigger endpoints; unset (the default) disables them.
JOB_SECRET = secret("JOB_SECRET")
WARMUP_SECRET = secret("WARMUP_SECRET")

# Cache lifetimes: served as fresh, then served stale (and refreshed), then gone.
WARMUP_FRESH_DAYS = _int_between("WARMUP_FRESH_DAYS", 7, 1, 365)
WARMUP_STALE_DAYS = _int_between("WARMUP_STALE_DAYS", 30, 1, 365)
if WARMUP_STALE_DAYS < WARMUP_FRESH_DAYS:
    raise ImproperlyConfigured("WARMUP_STALE_DAYS must be >= WARMUP_FRESH_DAYS")

WARMUP_FORECAST_HORIZON_WEEKS = _int_between("WARMUP_FORECAST_HORIZON_WEEKS", 12, 1, 104)

# Per run: how many comparisons (the seed's maxima) and how many at once.
WARMUP_FORECASTS_LIMIT = _int_between("WARMUP_FORECASTS_LIMIT", 50, 1, 50)
WARMUP_FORECASTS_CONCURRENCY = _int_between("WARMUP_FORECASTS_CONCURRENCY", 5, 1, 5)
WARMUP_AI_LIMIT = _int_between("WARMUP_AI_LIMIT", 30, 1, 30)
WARMUP_AI_CONCURRENCY = _int_between("WARMUP_AI_CONCURRENCY", 3, 1, 3)

# Maximum lock holds in seconds (1 h, 2 h, 30 min); a run past its maximum
# loses its lock and stops.
WARMUP_FORECASTS_LOCK_SECONDS = _seconds("WARMUP_FORECASTS_LOCK_SECONDS", 3600.0)
WARMUP_AI_LOCK_SECONDS = _seconds("WARMUP_AI_LOCK_SECONDS", 7200.0)
WARMUP_ON_DEMAND_LOCK_SECONDS = _seconds("WARMUP_ON_DEMAND_LOCK_SECONDS", 1800.0)
