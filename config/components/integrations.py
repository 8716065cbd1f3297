"""Settings for Slack, Jira and Sentry (jobs.integrations); see docs/ai-and-integrations.md."""

from django.core.exceptions import ImproperlyConfigured

from config.settings_base import env, positive_float, secret

SLACK_BOT_TOKEN = secret("SLACK_BOT_TOKEN")
SLACK_DEFAULT_CHANNEL = env.str("SLACK_DEFAULT_CHANNEL", default="")
SLACK_API_URL = env.str("SLACK_API_URL", default="https://slack.com/api/")
JIRA_SERVER = env.str("JIRA_SERVER", default="")
JIRA_USER = env.str("JIRA_USER", default="")
JIRA_API_TOKEN = secret("JIRA_API_TOKEN")
JIRA_PROJECT_KEY = env.str("JIRA_PROJECT_KEY", default="")
INTEGRATIONS_TIMEOUT_SECONDS = positive_float("INTEGRATIONS_TIMEOUT_SECONDS", 10.0)
SENTRY_DSN = secret("SENTRY_DSN")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="production")
SENTRY_TRACES_SAMPLE_RATE = positive_float("SENTRY_TRACES_SAMPLE_RATE", 0.0)
if SENTRY_TRACES_SAMPLE_RATE > 1:
    raise ImproperlyConfigured("SENTRY_TRACES_SAMPLE_RATE must be between 0 and 1")
if INTEGRATIONS_TIMEOUT_SECONDS == 0:
    raise ImproperlyConfigured("INTEGRATIONS_TIMEOUT_SECONDS must be > 0")
