"""Settings for Slack, Jira and Sentry (jobs.integrations); see docs/ai-and-integrations.md."""

from config.env import number, ratio, secret, string

SLACK_BOT_TOKEN = secret("SLACK_BOT_TOKEN")
SLACK_DEFAULT_CHANNEL = string("SLACK_DEFAULT_CHANNEL")
SLACK_API_URL = string("SLACK_API_URL", "https://slack.com/api/")
JIRA_SERVER = string("JIRA_SERVER")
JIRA_USER = string("JIRA_USER")
JIRA_API_TOKEN = secret("JIRA_API_TOKEN")
JIRA_PROJECT_KEY = string("JIRA_PROJECT_KEY")
INTEGRATIONS_TIMEOUT_SECONDS = number("INTEGRATIONS_TIMEOUT_SECONDS", 10.0, above=0)
SENTRY_DSN = secret("SENTRY_DSN")
SENTRY_ENVIRONMENT = string("SENTRY_ENVIRONMENT", "production")
SENTRY_TRACES_SAMPLE_RATE = ratio("SENTRY_TRACES_SAMPLE_RATE", 0.0)
