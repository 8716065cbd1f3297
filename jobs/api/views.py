"""The jobs API. Views parse, call a lifecycle function, and serialize."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, JsonResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs import lifecycle, registry, selectors
from jobs.api.poll import etag_for, etag_matches
from jobs.api.serializers import (
    JobCreatedSerializer,
    JobCreateSerializer,
    JobEventSerializer,
    JobSerializer,
    JobTypeSerializer,
)
from jobs.errors import InvalidJobInput
from jobs.models import Job, JobStatus


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
        if etag_matches(etag, request.headers.get("If-None-Match", "")):
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
