"""The jobs API. Views parse, call a lifecycle function, and serialize."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import psycopg
from django.contrib.auth import get_user_model
from django.db import connections
from django.http import Http404, HttpRequest, JsonResponse
from drf_orjson_renderer.renderers import ORJSONRenderer
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs import lifecycle, registry, selectors
from jobs.api.serializers import (
    JobCreatedSerializer,
    JobCreateSerializer,
    JobEventSerializer,
    JobSerializer,
    JobTypeSerializer,
)
from jobs.errors import InvalidJobInput
from jobs.models import Job, JobStatus


def etag_for(job: Job) -> str:
    # updated_at changes on every write of the row (progress included).
    return f'W/"{job.id.hex}-{int(job.updated_at.timestamp() * 1_000_000)}"'


def get_job_for_user(user: Any, job_id: Any) -> Job:
    job = selectors.jobs_for_user(user).filter(id=job_id).first()
    if job is None:
        raise Http404("No such job.")
    return job


def _actor(request: Request) -> str:
    return str(request.user.get_username())


def health(request: HttpRequest) -> JsonResponse:
    """`GET /api/health`: the process answers (no database, no authentication),
    for a load balancer; the benchmarks' constant route (the server's ceiling)."""
    return JsonResponse({"status": "ok"})


class JobListCreateView(generics.ListAPIView):
    serializer_class = JobSerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        qs = selectors.jobs_for_user(self.request.user).order_by("-created_at")
        status_filter = self.request.query_params.get("status")
        if status_filter:
            if status_filter not in JobStatus.values:
                choices = ", ".join(JobStatus.values)
                raise ValidationError({"status": [f"Must be one of {choices}."]})
            qs = qs.filter(status=status_filter)
        type_filter = self.request.query_params.get("type")
        if type_filter:
            qs = qs.filter(type=type_filter)
        return qs

    @extend_schema(
        summary="List your organizations' jobs",
        parameters=[
            OpenApiParameter("status", str, enum=JobStatus.values),
            OpenApiParameter("type", str),
        ],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Create a job",
        request=JobCreateSerializer,
        responses={
            201: JobCreatedSerializer,
            400: OpenApiResponse(description="Bad input: field errors"),
            409: OpenApiResponse(description="The same job is already queued"),
            429: OpenApiResponse(description="Too many active jobs; see Retry-After"),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = JobCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        organization = selectors.organization_for_create(request.user, data.get("organization_id"))
        try:
            # job_create checks the input and the scope (JobType.prepare).
            job = lifecycle.job_create(
                job_type=data["type"],
                input=data["input"],
                organization=organization,
                user=request.user,
                decision_id=data.get("decision_id"),
                source="api",
            )
        except InvalidJobInput as exc:
            raise exc.nested("input") from exc
        body = {"id": job.id, "status": job.status, "poll_url": f"/api/jobs/{job.id}"}
        return Response(
            JobCreatedSerializer(body).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/jobs/{job.id}"},
        )


class JobDetailView(APIView):
    @extend_schema(
        summary="A job's status, progress and result",
        responses={200: JobSerializer, 304: OpenApiResponse(description="Not modified")},
        parameters=[OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER)],
    )
    def get(self, request: Request, job_id: Any) -> Response:
        job = get_job_for_user(request.user, job_id)
        etag = etag_for(job)
        headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
        if_none_match = request.headers.get("If-None-Match", "")
        if etag in [tag.strip() for tag in if_none_match.split(",")]:
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers=headers)
        return Response(JobSerializer(job).data, headers=headers)

    @extend_schema(
        summary="Cancel a job",
        description="A pending job is cancelled at once; a running job is asked to stop "
        "and ends `cancelled` at its next progress report or step.",
        responses={200: JobSerializer, 409: OpenApiResponse(description="Already finished")},
    )
    def delete(self, request: Request, job_id: Any) -> Response:
        get_job_for_user(request.user, job_id)
        job = lifecycle.job_cancel(job_id, actor=_actor(request))
        return Response(JobSerializer(job).data)


class JobRetryView(APIView):
    @extend_schema(
        summary="Re-run a failed or cancelled job",
        request=None,
        responses={
            200: JobSerializer,
            409: OpenApiResponse(description="Not failed or cancelled"),
            429: OpenApiResponse(description="Too many active jobs"),
        },
    )
    def post(self, request: Request, job_id: Any) -> Response:
        get_job_for_user(request.user, job_id)
        job = lifecycle.job_retry(job_id, actor=_actor(request))
        return Response(JobSerializer(job).data)


class JobEventListView(generics.ListAPIView):
    serializer_class = JobEventSerializer

    @extend_schema(summary="A job's transitions and progress reports, oldest first")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):  # type: ignore[no-untyped-def]
        job = get_job_for_user(self.request.user, self.kwargs["job_id"])
        return job.events.order_by("id")


class JobTypeListView(APIView):
    @extend_schema(summary="Job types you can start", responses={200: JobTypeSerializer(many=True)})
    def get(self, request: Request) -> Response:
        types = [t for t in registry.all_types() if t.public]
        measured = selectors.measured_durations([t.name for t in types])
        return Response(JobTypeSerializer(types, many=True, context={"measured": measured}).data)


# --- the fast path of GET /api/jobs/{id} -----------------------------------------

_pools: dict[asyncio.AbstractEventLoop, Any] = {}


async def connection_pool() -> Any:
    """A small async pool per event loop (one per uvicorn worker process)."""
    from psycopg.types.string import TextLoader
    from psycopg_pool import AsyncConnectionPool

    loop = asyncio.get_running_loop()
    pool = _pools.get(loop)
    if pool is None:
        for stale in [k for k in _pools if k.is_closed()]:
            del _pools[stale]
        params = connections["default"].get_connection_params()
        for key in ("context", "cursor_factory", "prepare_threshold"):
            params.pop(key, None)

        async def configure(conn: Any) -> None:
            # As Django's connections: UTC, and JSON decoded by the model field.
            conn.adapters.register_loader("jsonb", TextLoader)
            await conn.execute("SELECT set_config('TimeZone', 'UTC', false)")

        pool = AsyncConnectionPool(
            kwargs={**params, "autocommit": True}, min_size=1, max_size=4,
            configure=configure, open=False,
        )
        _pools[loop] = pool
        await pool.open()
    return pool


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
    fields = Job._meta.concrete_fields
    values = []
    for field, value in zip(fields, row, strict=True):
        for converter in field.get_db_converters(  # type: ignore[attr-defined]
                connections["default"]):
            value = converter(value, None, connections["default"])
        values.append(value)
    job = Job.from_db("default", None, values)  # type: ignore[arg-type]  # None: all fields
    etag = etag_for(job)
    headers = {"ETag": etag, "Cache-Control": "private, no-cache", **_detail_headers()}
    if etag in [tag.strip() for tag in if_none_match.split(",")]:
        return status.HTTP_304_NOT_MODIFIED, headers, b""
    body = _RENDERER.render(_job_serializer().to_representation(job))
    return status.HTTP_200_OK, {**headers, "Content-Type": "application/json"}, body


@functools.cache
def _detail_headers() -> dict[str, str]:
    """Allow and Vary, as DRF sends them for JobDetailView."""
    probe = JobDetailView()
    probe.head = probe.get  # type: ignore[attr-defined]  # as View.setup() does per request
    return dict(probe.default_response_headers)


async def close_connection_pool() -> None:
    """Close this event loop's pool (tests; a server's pool lives as long as it does)."""
    pool = _pools.pop(asyncio.get_running_loop(), None)
    if pool is not None:
        await pool.close()


_RENDERER = ORJSONRenderer()


@functools.cache
def _job_serializer() -> JobSerializer:
    """One serializer whose fields are built once: DRF builds a ModelSerializer's
    fields anew for every instance, a quarter of a poll's CPU. `to_representation`
    keeps no state between calls, and the event loop runs one at a time."""
    return JobSerializer()
