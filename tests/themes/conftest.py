from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

SECRET = "s3cret-value"


@pytest.fixture(autouse=True)
def _themes_settings(settings: Any) -> None:
    settings.INTERNAL_SHARED_SECRET = SECRET
    settings.LLM_PROVIDER = "offline"
    settings.THEME_SCAN_WAIT_SECONDS = 20.0
    settings.MAX_THEMES_PER_RUN = 20
    settings.MAX_LINKS_PER_THEME = 20


@pytest.fixture
def internal() -> APIClient:
    """A caller that knows the internal secret (and nothing else)."""
    client = APIClient()
    client.credentials(HTTP_X_INTERNAL_SECRET=SECRET)
    return client
