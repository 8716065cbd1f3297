"""Settings for metrics, alerts and the ops dashboard (ops); see docs/ops.md."""

from django.core.exceptions import ImproperlyConfigured

from config.settings_base import env, positive_float, positive_int, secret


def _strict_bool(name: str, default: bool) -> bool:
    # django-environ reads any unknown word as False; a typo in a setting that
    # opens an endpoint should stop start-up instead.
    raw = env.str(name, default="").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def _ratio(name: str, default: float) -> float:
    value = positive_float(name, default)
    if value > 1:
        raise ImproperlyConfigured(f"{name} is a ratio between 0 and 1, got {value}")
    return value


# GET /metrics: a bearer token, or open only where explicitly public.
OPS_METRICS_TOKEN = secret("OPS_METRICS_TOKEN")
OPS_METRICS_PUBLIC = _strict_bool("OPS_METRICS_PUBLIC", False)

# Alert thresholds (the seed's table).
OPS_ALERT_FAILURE_RATE = _ratio("OPS_ALERT_FAILURE_RATE", 0.10)
OPS_ALERT_MIN_FINISHED = positive_int("OPS_ALERT_MIN_FINISHED", 5)
OPS_ALERT_QUEUE_DEPTH = positive_int("OPS_ALERT_QUEUE_DEPTH", 50)
OPS_ALERT_P95_FACTOR = positive_float("OPS_ALERT_P95_FACTOR", 2.0)
OPS_ALERT_P95_MIN_SAMPLES = positive_int("OPS_ALERT_P95_MIN_SAMPLES", 10)
OPS_ALERT_STUCK_JOBS = positive_int("OPS_ALERT_STUCK_JOBS", 5)
# Run-log types (jobs.RunLog.job_type) run on a schedule: the last run of each
# is shown, and alerted on (`run-failed:<type>`) when it failed.
OPS_SCHEDULED_RUN_TYPES = tuple(
    name.strip() for name in env.list(
        "OPS_SCHEDULED_RUN_TYPES",
        default=["warmup-forecasts", "warmup-ai-explanations", "themes.schedule_scans"])
    if name.strip())
OPS_ALERT_SLACK_CHANNEL = env.str("OPS_ALERT_SLACK_CHANNEL", default="")
# Linked from every Slack alert when set (for example https://plinth.example.com/ops/).
OPS_DASHBOARD_URL = env.str("OPS_DASHBOARD_URL", default="")

# The trailing 7-day P95 per type is a heavy query: recomputed at most this often.
OPS_BASELINE_REFRESH_SECONDS = positive_int("OPS_BASELINE_REFRESH_SECONDS", 3600)
# Retention of the dashboard's per-minute samples and of the alert history.
OPS_SAMPLE_RETENTION_HOURS = positive_int("OPS_SAMPLE_RETENTION_HOURS", 48)
OPS_ALERT_HISTORY_DAYS = positive_int("OPS_ALERT_HISTORY_DAYS", 90)

# PagerDuty Events API v2 for teams without Prometheus/Alertmanager: alerts of these
# severities are triggered (once, dedup key per alert) and resolved when they clear.
OPS_PAGERDUTY_ROUTING_KEY = secret("OPS_PAGERDUTY_ROUTING_KEY")
OPS_PAGERDUTY_EVENTS_URL = env.str("OPS_PAGERDUTY_EVENTS_URL",
                                   default="https://events.pagerduty.com/v2/enqueue")
OPS_PAGERDUTY_SEVERITIES = tuple(
    s.strip() for s in env.list("OPS_PAGERDUTY_SEVERITIES", default=["critical"]) if s.strip())
