"""Jira issues through the `jira` library.

Off when JIRA_SERVER or JIRA_API_TOKEN is unset (or no project key is given
and JIRA_PROJECT_KEY is unset): the call logs that and returns None, and the
job carries on. Call `create_issue` after the transaction that decided the
issue has committed (see `jobs.integrations.effects`).

An issue created with an idempotency key carries a label derived from it
(`plinth-<16 hex of the key's sha256>`: labels take no spaces). When an earlier
attempt's create is in doubt (its answer was lost), the retry searches
`labels = "<label>"` (JQL) and takes the issue it finds instead of creating
another. The project's create screen must therefore allow labels (Epics'
usually do); a search the credentials may not run fails the job (AuthError).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from jira import JIRA
from jira.exceptions import JIRAError

from jobs import tracing
from jobs.ai.errors import retry_after_seconds
from jobs.errors import AuthError, PermanentJobError, RateLimitedError, RetryableJobError
from jobs.integrations.effects import (
    NotDelivered,
    connection_refused,
    effect_label,
    normal_key,
    once,
)
from jobs.integrations.models import SentEffect

logger = logging.getLogger(__name__)


def is_configured() -> bool:
    return bool(settings.JIRA_SERVER and settings.JIRA_API_TOKEN)


def _client() -> JIRA:
    # Jira Cloud: the account's e-mail and an API token (basic auth). Jira Server /
    # Data Center: a personal access token alone (bearer), with JIRA_USER unset.
    auth: dict[str, Any] = (
        {"basic_auth": (settings.JIRA_USER, settings.JIRA_API_TOKEN)}
        if settings.JIRA_USER
        else {"token_auth": settings.JIRA_API_TOKEN}
    )
    client = JIRA(
        server=settings.JIRA_SERVER,
        **auth,
        get_server_info=False,  # one round trip fewer; create_issue needs no version
        max_retries=0,  # the platform retries, through the idempotency record
        timeout=settings.INTEGRATIONS_TIMEOUT_SECONDS,
    )
    if _is_cloud_url(settings.JIRA_SERVER):
        # Without server info the library takes Cloud for Server, and searches
        # the /search endpoint Cloud retired; /search/jql is Cloud's.
        client.deploymentType = "Cloud"
    return client


def _is_cloud_url(server: str) -> bool:
    host = urlsplit(server).hostname or ""
    return host.endswith((".atlassian.net", ".jira.com"))


def _classify(exc: JIRAError) -> Exception:
    status = exc.status_code or 0
    if status == 429:
        retry = retry_after_seconds(exc.response) or 1.0
        return RateLimitedError(f"Jira rate limit (429), retry after {retry:.0f} s",
                                retry_after=retry)
    if status in (401, 403):
        return AuthError(f"Jira refused the credentials ({status})")
    if status >= 500 or status == 0:
        return RetryableJobError(f"Jira error {status or 'without a response'}: {exc.text}")
    return PermanentJobError(f"Jira error {status}: {exc.text}")


def create_issue(
    *,
    project_key: str | None,
    summary: str,
    description: str = "",
    issue_type: str = "Epic",
    priority: str | None = "High",
    idempotency_key: str | None = None,
) -> str | None:
    """Create an issue once per idempotency key; returns its key (e.g. PLAT-12).

    None (and a log line) when Jira is not configured. Raises the platform's
    errors otherwise: RateLimitedError (429), AuthError (401/403),
    RetryableJobError (5xx, timeouts, connection errors), PermanentJobError
    (400: an unknown project, issue type or priority).
    """
    project_key = project_key or settings.JIRA_PROJECT_KEY
    if not is_configured() or not project_key:
        logger.info("Jira is not configured (server, token or project missing); not creating %r",
                    summary)
        return None
    fields: dict[str, Any] = {
        "project": {"key": project_key},
        "summary": summary[:250],
        "description": description,
        "issuetype": {"name": issue_type},
    }
    if priority:
        fields["priority"] = {"name": priority}
    key = normal_key(idempotency_key) if idempotency_key else None
    if key:
        fields["labels"] = [effect_label(key)]

    @tracing.traced("jira create_issue", **{"peer.service": "jira",
                                             "rpc.method": "create_issue"})
    def send() -> str:
        try:
            # prefetch=False: the created key is all we need; a failing GET
            # afterwards must not make a retry open a second issue.
            issue = _client().create_issue(fields=fields, prefetch=False)
        except JIRAError as exc:
            raise _classify(exc) from exc
        except (requests.exceptions.JSONDecodeError, ValueError) as exc:  # a 2xx, not JSON
            raise RetryableJobError(f"Jira answered something that is not JSON: {exc}") from exc
        except requests.RequestException as exc:
            if connection_refused(exc):
                raise NotDelivered(f"Jira unreachable: {exc}") from exc
            raise RetryableJobError(f"Jira unreachable: {exc}") from exc
        return str(issue.key)

    def find(row: SentEffect) -> str | None:
        return _find_issue(row.key)

    return once(key=key, kind="jira", send=send, find=find)


def _find_issue(key: str) -> str | None:
    """The key of the issue labelled for the effect `key`, or None (a JQL search)."""
    label = effect_label(key)
    try:
        found = _client().search_issues(f'labels = "{label}" ORDER BY created ASC',
                                        maxResults=1, fields="labels", json_result=True)
    except JIRAError as exc:
        error = _classify(exc)
        if isinstance(error, RetryableJobError):
            raise error from exc  # 429, 5xx: look again on the next attempt
        raise type(error)(
            f"Jira issue {key!r} is in doubt (an earlier attempt's answer was lost) and "
            f"cannot be checked (a search for label {label}): {error}"
        ) from exc
    except (requests.exceptions.JSONDecodeError, ValueError) as exc:
        raise RetryableJobError(f"Jira answered a search with something not JSON: {exc}") \
            from exc
    except requests.RequestException as exc:
        raise RetryableJobError(f"Jira unreachable (checking an in-doubt issue): {exc}") from exc
    issues = (found or {}).get("issues") or []
    return str(issues[0]["key"]) if issues else None
