"""Warmup endpoints: the secret-protected triggers, the cache-only premium pack, comparisons.

The trigger endpoints authenticate by a shared secret header only (no user,
no DRF authentication), compared in constant time by `jobs.api.secrets`; an
unset secret answers 503 and never opens the endpoint.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs.api.secrets import SharedSecret
from jobs.models import RunLog
from warmup import names, selectors, services
from warmup.models import Comparison
from warmup.serializers import (
    AIExplanationsInput,
    ComparisonSerializer,
    ForecastsInput,
    OnDemandAccepted,
    OnDemandRequest,
    PremiumPack,
    RunLogOut,
    SeriesIn,
    WarmupAccepted,
    WarmupRefused,
)

BUSY_RETRY_AFTER_SECONDS = 60


class JobSecret(SharedSecret):
    header, setting = "X-Job-Secret", "JOB_SECRET"


class WarmupSecret(SharedSecret):
    header, setting = "X-Warmup-Secret", "WARMUP_SECRET"


def _secret_header(name: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.STR, OpenApiParameter.HEADER, required=True,
                            description="The shared secret (see docs/warmup.md)")


_SECRET_ERRORS = {
    401: OpenApiResponse(description="Missing or wrong secret header"),
    503: OpenApiResponse(description="The secret is not set: the endpoint is disabled"),
}


def _body(request: Request) -> dict[str, Any]:
    data = request.data
    if hasattr(data, "dict"):  # a form post's QueryDict: single values
        data = data.dict()
    if not isinstance(data, Mapping):
        raise ValidationError({"non_field_errors": ["The body must be a JSON object."]})
    return dict(data)


class _Trigger(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [JobSecret]
    job_type = ""

    def post(self, request: Request) -> Response:
        try:
            job = services.warmup_start(job_type=self.job_type, input=_body(request),
                                        source="internal")
        except services.WarmupBusy as busy:
            return Response(
                {"success": False, "error": str(busy),
                 "jobId": str(busy.job.id) if busy.job else None},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)},
            )
        return Response(
            {"success": True, "jobId": str(job.id), "status": job.status,
             "statusUrl": f"/api/jobs/warmup-runs?jobId={job.id}"},
            status=status.HTTP_202_ACCEPTED,
        )


_TRIGGER_RESPONSES = {
    202: WarmupAccepted,
    400: OpenApiResponse(description="limit or concurrency out of bounds"),
    429: OpenApiResponse(WarmupRefused, description="One of this type is queued or running"),
    **_SECRET_ERRORS,
}


class WarmupForecasts(_Trigger):
    job_type = names.FORECASTS

    @extend_schema(
        summary="Refresh the forecasts of popular comparisons (X-Job-Secret)",
        description="Queues the forecast warmup (the nightly 02:00 UTC job) now. "
                    "limit 1-50 (default 50), concurrency 1-5 (default 5).",
        parameters=[_secret_header("X-Job-Secret")], request=ForecastsInput,
        responses=_TRIGGER_RESPONSES, auth=[], tags=["warmup"],
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


class WarmupAIExplanations(_Trigger):
    job_type = names.AI_EXPLANATIONS

    @extend_schema(
        summary="Refresh the AI explanations of popular comparisons (X-Job-Secret)",
        description="Queues the AI explanation warmup (the Sunday 03:00 UTC job) now. "
                    "limit 1-30 (default 30), concurrency 1-3 (default 3).",
        parameters=[_secret_header("X-Job-Secret")], request=AIExplanationsInput,
        responses=_TRIGGER_RESPONSES, auth=[], tags=["warmup"],
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


class WarmupRuns(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [JobSecret]

    @extend_schema(
        summary="Recent warmup run logs (X-Job-Secret)",
        parameters=[
            _secret_header("X-Job-Secret"),
            OpenApiParameter("type", OpenApiTypes.STR, enum=list(names.TYPES)),
            OpenApiParameter("jobId", OpenApiTypes.UUID),
        ],
        responses={200: RunLogOut(many=True), **_SECRET_ERRORS}, auth=[], tags=["warmup"],
    )
    def get(self, request: Request) -> Response:
        logs = RunLog.objects.filter(job_type__in=names.TYPES)
        job_type = request.query_params.get("type")
        if job_type:
            if job_type not in names.TYPES:
                raise ValidationError({"type": [f"One of {', '.join(names.TYPES)}."]})
            logs = logs.filter(job_type=job_type)
        job_id = request.query_params.get("jobId")
        if job_id:
            try:
                logs = logs.filter(job_id=uuid.UUID(job_id))
            except ValueError as exc:
                raise ValidationError({"jobId": ["Must be a job id (UUID)."]}) from exc
        return Response(RunLogOut(logs.order_by("-started_at")[:20], many=True).data)


class ComparisonWarmup(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [WarmupSecret]

    @extend_schema(
        summary="Warm up one comparison in the background (X-Warmup-Secret)",
        description="Fire and forget: queues the on-demand warmup of the comparison's current "
                    "data hash and answers at once. A second call while one is queued or "
                    "running answers alreadyQueued with that job.",
        parameters=[_secret_header("X-Warmup-Secret")], request=OnDemandRequest,
        responses={202: OnDemandAccepted, 400: OpenApiResponse(description="No slug"),
                   404: OpenApiResponse(description="No such comparison"), **_SECRET_ERRORS},
        auth=[], tags=["warmup"],
    )
    def post(self, request: Request) -> Response:
        body = OnDemandRequest(data=_body(request))
        body.is_valid(raise_exception=True)
        comparison = Comparison.objects.filter(slug=body.validated_data["slug"]).first()
        if comparison is None:
            raise Http404("No comparison with this slug.")
        job, queued = services.on_demand_start(comparison=comparison, source="internal")
        return Response(
            {"success": True, "jobId": str(job.id) if job else None, "alreadyQueued": not queued,
             "slug": comparison.slug, "dataHash": comparison.data_hash},
            status=status.HTTP_202_ACCEPTED,
        )


class ComparisonPremium(APIView):
    @extend_schema(
        summary="A comparison's forecast and AI insights, from the cache only",
        description="Never computes: serves what the cache holds for the comparison's current "
                    "data hash (fresh, or stale until it expires). needsWarmup is true when "
                    "either is stale or missing; the on-demand warmup is then already queued "
                    "(warmupJobId). Counts a view.",
        parameters=[OpenApiParameter("slug", OpenApiTypes.STR, required=True)],
        responses={200: PremiumPack, 400: OpenApiResponse(description="No slug"),
                   404: OpenApiResponse(description="No such comparison")},
        tags=["warmup"],
    )
    def get(self, request: Request) -> Response:
        slug = request.query_params.get("slug")
        if not slug:
            raise ValidationError({"slug": ["This query parameter is required."]})
        comparison = Comparison.objects.filter(slug=slug).first()
        if comparison is None:
            raise Http404("No comparison with this slug.")
        services.comparison_visit(comparison=comparison)
        pack = selectors.cached_pack(comparison)
        job = None
        if pack.needs_warmup:
            job, _ = services.on_demand_start(comparison=comparison, source="internal")
        return Response({
            "slug": comparison.slug,
            "terms": [comparison.term_a, comparison.term_b],
            "dataHash": comparison.data_hash,
            **pack.as_json(),
            "needsWarmup": pack.needs_warmup,
            "warmupJobId": str(job.id) if job else None,
        })


@extend_schema(tags=["warmup"])
class ComparisonListCreate(generics.ListCreateAPIView):
    """Comparisons are global (public search terms): any signed-in user reads and adds them."""

    serializer_class = ComparisonSerializer

    def get_queryset(self) -> Any:
        return Comparison.objects.order_by("-view_count", "slug")

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.comparison_create(
            **serializer.validated_data, created_by=self.request.user)


@extend_schema(tags=["warmup"])
class ComparisonDetail(generics.RetrieveAPIView):
    serializer_class = ComparisonSerializer
    queryset = Comparison.objects.all()
    lookup_field = "slug"


class ComparisonSeries(APIView):
    @extend_schema(
        summary="Replace a comparison's weekly series (its creator or staff)",
        description="A new data hash: the cached forecast and insights of the old series are "
                    "no longer served, and the next premium call asks for a warmup.",
        request=SeriesIn,
        responses={200: ComparisonSerializer, 403: OpenApiResponse(description="Not yours")},
        tags=["warmup"],
    )
    def put(self, request: Request, slug: str) -> Response:
        comparison = get_object_or_404(Comparison, slug=slug)
        user = request.user
        if not (getattr(user, "is_staff", False) or comparison.created_by_id == user.pk):
            raise PermissionDenied("Only the comparison's creator or staff may replace its series.")
        body = SeriesIn(data=request.data)
        body.is_valid(raise_exception=True)
        comparison = services.comparison_series_set(comparison=comparison, **body.validated_data)
        return Response(ComparisonSerializer(comparison).data)
