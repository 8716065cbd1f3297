"""Which Slack channels and Jira projects an organization's projects may name.

One shared Slack bot and one Jira account serve every organization, so a
project's `slack_channel` and `jira_project_key` are checked, when written,
against its organization's OrganizationIntegrationSettings (set by staff in
the admin). An empty value is always allowed: the deployment's defaults
(SLACK_DEFAULT_CHANNEL, JIRA_PROJECT_KEY) then apply.
"""

from __future__ import annotations

from typing import Any

from jobs.integrations.models import (
    OrganizationIntegrationSettings,
    normalize_jira_key,
    normalize_slack_channel,
)


def integration_targets_check(
    *, organization_id: Any, slack_channel: str = "", jira_project_key: str = ""
) -> dict[str, str]:
    """Field name -> why it is refused; empty when both are allowed."""
    if not slack_channel and not jira_project_key:
        return {}
    allowed = OrganizationIntegrationSettings.objects.filter(
        organization_id=organization_id
    ).first()
    channels = {normalize_slack_channel(c) for c in (allowed.slack_channels if allowed else [])}
    keys = {normalize_jira_key(k) for k in (allowed.jira_project_keys if allowed else [])}
    errors: dict[str, str] = {}
    if slack_channel and normalize_slack_channel(slack_channel) not in channels:
        errors["slack_channel"] = (
            "This Slack channel is not allowed for your organization; ask staff to add it "
            "to the organization's integration settings."
        )
    if jira_project_key and normalize_jira_key(jira_project_key) not in keys:
        errors["jira_project_key"] = (
            "This Jira project is not allowed for your organization; ask staff to add it "
            "to the organization's integration settings."
        )
    return errors
