"""The internal theme-scan endpoint (the seed's contract), interviews, themes and the audit log."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs import selectors as job_selectors
from jobs.api.secrets import InternalSecret
from jobs.errors import JobAlreadyQueued
from jobs.models import FINAL_STATUSES, Job, JobStatus, Organization
from themes import selectors, services
from themes.models import AuditEntry, Interview, Theme
from themes.serializers import (
    AuditEntrySerializer,
    InterviewCreateSerializer,
    InterviewSerializer,
    ThemeScanDoneSerializer,
    ThemeScanFailedSerializer,
    ThemeScanInput,
    ThemeScanQueuedSerializer,
    ThemeSerializer,
)


def job_wait(job_id: Any, *, timeout: float) -> Job:
    """The job once it has finished, or as it is when `timeout` seconds have passed.

    Polls the row (one indexed read), quickly at first: a small scan
    finishes in well under a second.
    """
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        job = Job.objects.get(id=job_id)
        left = deadline - time.monotonic()
        if job.status in FINAL_STATUSES or left <= 0:
            return job
        time.sleep(min(delay, left))
        delay = min(delay * 1.5, 0.5)


class ThemeScanView(APIView):
    """POST /api/internal/jobs/theme-scan (X-Internal-Secret)."""

    # No session or token: the shared secret is the only way in (checked first).
    authentication_classes: list[Any] = []
    permission_classes = [InternalSecret]

    @extend_schema(
        summary="Scan an organization's recent interviews for themes",
        description=(
            "Needs the `X-Internal-Secret` header. Answers the scan's result when it "
            "finishes within THEME_SCAN_WAIT_SECONDS (30 s), otherwise 202 with the job "
            "to poll."
        ),
        request=ThemeScanInput,
        responses={
            200: ThemeScanDoneSerializer,
            202: ThemeScanQueuedSerializer,
            400: OpenApiResponse(description="Field errors"),
            401: OpenApiResponse(description="Missing or wrong X-Internal-Secret"),
            404: OpenApiResponse(description="No such (active) organization"),
            409: OpenApiResponse(description="A scan of this organization is already queued"),
            500: ThemeScanFailedSerializer,
            503: OpenApiResponse(description="INTERNAL_SHARED_SECRET is not set"),
        },
        tags=["themes"],
    )
    def post(self, request: Request) -> Response:
        body = ThemeScanInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        organization = Organization.objects.filter(id=data["org_id"], is_active=True).first()
        if organization is None:
            raise Http404("No such organization.")
        try:
            job = services.theme_scan_start(
                organization=organization,
                lookback_days=data["lookback_days"],
                max_interviews=data["max_interviews"],
                dry_run=data["dry_run"],
                source="internal",
            )
        except JobAlreadyQueued:
            return Response(
                {"success": False,
                 "error": "A theme scan for this organization is already queued."},
                status=status.HTTP_409_CONFLICT,
            )
        job = job_wait(job.id, timeout=float(settings.THEME_SCAN_WAIT_SECONDS))
        if job.status == JobStatus.COMPLETED:
            return Response({"success": True, "result": job.output})
        if job.status in FINAL_STATUSES:
            return Response(
                {"success": False, "error": job.error or f"The scan was {job.status}.",
                 "job_id": str(job.id)},
                status=status.HTTP_500_INTERNAL_SERVER_ERROR,
            )
        return Response(
            {"success": True, "job_id": str(job.id), "status": job.status,
             "poll_url": f"/api/jobs/{job.id}"},
            status=status.HTTP_202_ACCEPTED,
        )


@extend_schema(tags=["themes"])
class InterviewListCreate(generics.ListCreateAPIView):
    """Interviews feed the scanner: each with its quotes (or a transcript)."""

    serializer_class = InterviewSerializer

    def get_queryset(self) -> QuerySet[Interview]:
        return selectors.interviews_for_user(self.request.user)

    @extend_schema(request=InterviewCreateSerializer, responses={201: InterviewSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = InterviewCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        organization = job_selectors.organization_for_create(
            request.user, data.pop("organization", None), field="organization"
        )
        interview = services.interview_create(organization=organization, **data)
        interview = self.get_queryset().get(id=interview.id)
        return Response(InterviewSerializer(interview).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["themes"])
class InterviewDetail(generics.RetrieveAPIView):
    serializer_class = InterviewSerializer

    def get_queryset(self) -> QuerySet[Interview]:
        return selectors.interviews_for_user(self.request.user)


@extend_schema(tags=["themes"])
class ThemeList(generics.ListAPIView):
    serializer_class = ThemeSerializer

    def get_queryset(self) -> QuerySet[Theme]:
        return selectors.themes_for_user(self.request.user)


@extend_schema(tags=["themes"])
class ThemeDetail(generics.RetrieveAPIView):
    serializer_class = ThemeSerializer

    def get_queryset(self) -> QuerySet[Theme]:
        return selectors.themes_for_user(self.request.user)


@extend_schema(tags=["themes"])
class AuditEntryList(generics.ListAPIView):
    """Every write the scanner made: which job, which tool, before and after."""

    serializer_class = AuditEntrySerializer

    def get_queryset(self) -> QuerySet[AuditEntry]:
        return selectors.audit_entries_for_user(self.request.user)
