"""A uvicorn server on the test database for the event-stream tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from rest_framework.authtoken.models import Token

from jobs import lifecycle
from jobs.models import Job
from tests.realtime.support import AsgiServer, shared_server, stop_shared_server


@pytest.fixture(scope="session")
def asgi_server(django_db_setup: None) -> Iterator[AsgiServer]:
    yield shared_server()
    stop_shared_server()


@pytest.fixture
def token(user: Any) -> str:
    return Token.objects.get_or_create(user=user)[0].key


@pytest.fixture
def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Token {token}"}


@pytest.fixture
def make_job(org: Any, user: Any) -> Any:
    def make(**input: Any) -> Job:
        return lifecycle.job_create(
            job_type="diagnostic", input={"steps": 3, **input}, organization=org, user=user,
            enforce_limits=False,
        )

    return make
