"""The poll path: `GET /api/jobs/{id}` for a token client, in one place.

What every open progress bar repeats, answered by config/asgi.py before Django
(one pooled prepared statement, the ETag, a serializer built once, orjson):
the async connection pool (`connection_pool`, also the event streams' in
jobs/api/stream.py), the poll SQL (`poll_sql`: token, user, membership and job
in one statement), the ETag (`etag_for`, also DRF's JobDetailView and the report
builder's job view) and `poll_job` itself, which answers exactly as DRF would or
returns None to let DRF answer.

It is not folded into the general path: bench/RESULTS.md (routes) measures the
general path's rate for the same request, well under the 80% of this one's that
folding it would need.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import psycopg
from django.contrib.auth import get_user_model
from django.db import connections
from drf_orjson_renderer.renderers import ORJSONRenderer
from rest_framework import status
from rest_framework.authtoken.models import Token

from jobs import realtime, selectors
from jobs.api.serializers import JobSerializer
from jobs.models import Job

POOL_MIN_SIZE = 1
POOL_MAX_SIZE = 4


def etag_for(job: Job) -> str:
    # updated_at changes on every write of the row (progress included).
    return f'W/"{job.id.hex}-{int(job.updated_at.timestamp() * 1_000_000)}"'


def etag_matches(etag: str, if_none_match: str) -> bool:
    return etag in [tag.strip() for tag in if_none_match.split(",")]


_pools: dict[asyncio.AbstractEventLoop, Any] = {}


async def connection_pool() -> Any:
    """A small async pool per event loop (one per uvicorn worker process), set up
    as jobs.realtime's connections are (`realtime.async_pool`)."""
    loop = asyncio.get_running_loop()
    pool = _pools.get(loop)
    if pool is None:
        for stale in [k for k in _pools if k.is_closed()]:
            del _pools[stale]
        pool = realtime.async_pool(min_size=POOL_MIN_SIZE, max_size=POOL_MAX_SIZE)
        _pools[loop] = pool
        await pool.open()
    return pool


async def close_connection_pool() -> None:
    """Close this event loop's pool (tests; a server's pool lives as long as it does)."""
    pool = _pools.pop(asyncio.get_running_loop(), None)
    if pool is not None:
        await pool.close()


@functools.cache
def poll_sql() -> str:
    """The job, if the token is valid, its user active and a member of the job's
    organization, and that organization active: what TokenAuthentication,
    IsAuthenticated and jobs_for_user check (the membership condition is the
    selectors' own, `member_organizations_sql`)."""
    user = get_user_model()._meta
    active = (
        f" AND u.{user.get_field('is_active').column}"
        if any(f.name == "is_active" for f in user.concrete_fields)
        else ""
    )
    columns = ", ".join(f"j.{f.column}" for f in Job._meta.concrete_fields)
    return (
        f"SELECT {columns} FROM {Token._meta.db_table} t"
        f" JOIN {user.db_table} u ON u.{user.pk.column} = t.user_id{active}"
        f" JOIN {Job._meta.db_table} j ON j.id = %s"
        f" WHERE t.key = %s AND j.organization_id IN"
        f" ({selectors.member_organizations_sql(f'u.{user.pk.column}')})"
    )


def _json_accepted(accept: str) -> bool:
    return not accept or all(
        part.split(";")[0].strip() in ("*/*", "application/*", "application/json")
        for part in accept.split(",")
    )


async def poll_job(
    *, job_id: Any, authorization: str, accept: str, if_none_match: str
) -> tuple[int, dict[str, str], bytes] | None:
    """GET /api/jobs/{id} for a token client that takes JSON: (status, headers,
    body) exactly as DRF would answer, or None when DRF must answer (another
    kind of client or authentication, a bad token, no such job: its errors)."""
    auth = authorization.split()
    if len(auth) != 2 or auth[0].lower() != "token" or not _json_accepted(accept):
        return None
    pool = await connection_pool()
    for retry in (True, False):
        try:
            async with pool.connection() as conn:
                cursor = await conn.execute(poll_sql(), [job_id, auth[1]], prepare=True)
                row = await cursor.fetchone()
            break
        except psycopg.OperationalError:
            # Pooled connections the database closed (a restart): check the
            # idle ones (the broken are replaced) and try once more, rather
            # than a health-check query on every poll.
            if not retry:
                raise
            await pool.check()
    if row is None:
        return None  # DRF answers: 401 for the token, 404 for the job
    connection = connections["default"]
    values = []
    for converters, value in zip(_converters(), row, strict=True):
        for converter in converters:
            value = converter(value, None, connection)
        values.append(value)
    job = Job.from_db("default", None, values)  # type: ignore[arg-type]  # None: all fields
    etag = etag_for(job)
    headers = {"ETag": etag, "Cache-Control": "private, no-cache", **_detail_headers()}
    if etag_matches(etag, if_none_match):
        return status.HTTP_304_NOT_MODIFIED, headers, b""
    body = _RENDERER.render(_job_serializer().to_representation(job))
    return status.HTTP_200_OK, {**headers, "Content-Type": "application/json"}, body


@functools.cache
def _converters() -> list[list[Any]]:
    """Each Job column's database converters (JSON fields' decoding), found once."""
    return [field.get_db_converters(connections["default"])  # type: ignore[attr-defined]
            for field in Job._meta.concrete_fields]


@functools.cache
def _detail_headers() -> dict[str, str]:
    """Allow and Vary, as DRF sends them for JobDetailView."""
    from jobs.api.views import JobDetailView

    probe = JobDetailView()
    probe.head = probe.get  # type: ignore[attr-defined]  # as View.setup() does per request
    return dict(probe.default_response_headers)


_RENDERER = ORJSONRenderer()


@functools.cache
def _job_serializer() -> JobSerializer:
    """One serializer whose fields are built once: DRF builds a ModelSerializer's
    fields anew for every instance, a quarter of a poll's CPU. `to_representation`
    keeps no state between calls, and the event loop runs one at a time."""
    return JobSerializer()
