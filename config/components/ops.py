"""Settings for metrics, alerts and the ops dashboard (ops); see docs/ops.md."""

from config.env import boolean, positive_float, positive_int, ratio, secret, string, string_list

# GET /metrics: a bearer token, or open only where explicitly public.
OPS_METRICS_TOKEN = secret("OPS_METRICS_TOKEN")
# Strict: a typo in a setting that opens an endpoint stops the start.
OPS_METRICS_PUBLIC = boolean("OPS_METRICS_PUBLIC", False)

# Alert thresholds (the seed's table).
OPS_ALERT_FAILURE_RATE = ratio("OPS_ALERT_FAILURE_RATE", 0.10)
OPS_ALERT_MIN_FINISHED = positive_int("OPS_ALERT_MIN_FINISHED", 5)
OPS_ALERT_QUEUE_DEPTH = positive_int("OPS_ALERT_QUEUE_DEPTH", 50)
OPS_ALERT_P95_FACTOR = positive_float("OPS_ALERT_P95_FACTOR", 2.0)
OPS_ALERT_P95_MIN_SAMPLES = positive_int("OPS_ALERT_P95_MIN_SAMPLES", 10)
OPS_ALERT_STUCK_JOBS = positive_int("OPS_ALERT_STUCK_JOBS", 5)
# Run-log types (jobs.RunLog.job_type) run on a schedule: the last run of each
# is shown, and alerted on (`run-failed:<type>`) when it failed.
OPS_SCHEDULED_RUN_TYPES = tuple(string_list(
    "OPS_SCHEDULED_RUN_TYPES",
    ["warmup-forecasts", "warmup-ai-explanations", "themes.schedule_scans"]))
OPS_ALERT_SLACK_CHANNEL = string("OPS_ALERT_SLACK_CHANNEL")
# Linked from every Slack alert when set (for example https://plinth.example.com/ops/).
OPS_DASHBOARD_URL = string("OPS_DASHBOARD_URL")

# The trailing 7-day P95 per type is a heavy query: recomputed at most this often.
OPS_BASELINE_REFRESH_SECONDS = positive_int("OPS_BASELINE_REFRESH_SECONDS", 3600)
# Retention of the dashboard's per-minute samples and of the alert history.
OPS_SAMPLE_RETENTION_HOURS = positive_int("OPS_SAMPLE_RETENTION_HOURS", 48)
OPS_ALERT_HISTORY_DAYS = positive_int("OPS_ALERT_HISTORY_DAYS", 90)

# PagerDuty Events API v2 for teams without Prometheus/Alertmanager: alerts of these
# severities are triggered (once, dedup key per alert) and resolved when they clear.
OPS_PAGERDUTY_ROUTING_KEY = secret("OPS_PAGERDUTY_ROUTING_KEY")
OPS_PAGERDUTY_EVENTS_URL = string("OPS_PAGERDUTY_EVENTS_URL",
                                  "https://events.pagerduty.com/v2/enqueue")
OPS_PAGERDUTY_SEVERITIES = tuple(string_list("OPS_PAGERDUTY_SEVERITIES", ["critical"]))
