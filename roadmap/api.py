"""Roadmap endpoints: generate (a member or the internal secret), stats, projects, suggestions."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs import selectors as job_selectors
from jobs.api.secrets import InternalSecretOrUser
from jobs.errors import JobAlreadyQueued
from jobs.integrations.targets import integration_targets_check
from roadmap import selectors, services
from roadmap.models import Project, RoadmapSuggestion
from roadmap.serializers import (
    GenerateQueuedSerializer,
    GenerateRequest,
    GenerationStatsRow,
    ProjectSerializer,
    SuggestionAdjustSerializer,
    SuggestionCreateSerializer,
    SuggestionSerializer,
)
from themes.models import Theme


class RoadmapGenerate(APIView):
    """POST /api/roadmap/generate: a member of the project's organization, or the secret."""

    # The internal secret when its header is sent, else a signed-in user.
    permission_classes = [InternalSecretOrUser]

    @extend_schema(
        summary="Regenerate a project's roadmap suggestions",
        description=(
            "An authenticated user of the project's organization, or a caller with "
            "`X-Internal-Secret`. Queues `roadmap.regenerate`; poll `pollUrl`."
        ),
        request=GenerateRequest,
        responses={
            202: GenerateQueuedSerializer,
            400: OpenApiResponse(description="Field errors"),
            401: OpenApiResponse(description="Not signed in, or a wrong X-Internal-Secret"),
            404: OpenApiResponse(description="No such project (in your organizations)"),
            409: OpenApiResponse(description="A regeneration of this project is already queued"),
            429: OpenApiResponse(description="Too many active jobs"),
        },
        tags=["roadmap"],
    )
    def post(self, request: Request) -> Response:
        internal = InternalSecretOrUser.sent(request)
        body = GenerateRequest(data=request.data)
        body.is_valid(raise_exception=True)
        projects = (
            Project.objects.select_related("organization")
            if internal
            else selectors.projects_for_user(request.user)
        )
        project = projects.filter(id=body.validated_data["projectId"]).first()
        if project is None:
            raise Http404("No such project.")
        try:
            job = services.roadmap_regenerate_start(
                project=project,
                generate_reasoning=body.validated_data["generateReasoning"],
                source="internal" if internal else "api",
                user=None if internal else request.user,
            )
        except JobAlreadyQueued:
            return Response(
                {"success": False, "error": "A regeneration of this project is already queued."},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(
            {"success": True, "jobId": str(job.id), "status": job.status,
             "pollUrl": f"/api/jobs/{job.id}"},
            status=status.HTTP_202_ACCEPTED,
        )


class GenerationStats(APIView):
    @extend_schema(
        summary="Roadmap generation runs per day over the last 30 days",
        parameters=[OpenApiParameter("projectId", str, required=False,
                                     description="Only this project's runs")],
        responses={200: GenerationStatsRow(many=True)},
        tags=["roadmap"],
    )
    def get(self, request: Request) -> Response:
        raw_project_id = request.query_params.get("projectId") or None
        project_id = None
        if raw_project_id is not None:
            try:
                project_id = uuid.UUID(raw_project_id)
            except ValueError as exc:
                raise ValidationError({"projectId": ["Must be a project id (UUID)."]}) from exc
            _project_for(request.user, project_id)
        org_ids = list(
            job_selectors.organizations_for_user(request.user).values_list("id", flat=True)
        )
        rows = selectors.generation_stats(organization_ids=org_ids, project_id=project_id)
        return Response(GenerationStatsRow(rows, many=True).data)


@extend_schema(tags=["roadmap"])
class ProjectListCreate(generics.ListCreateAPIView):
    serializer_class = ProjectSerializer

    def get_queryset(self) -> Any:
        return selectors.projects_for_user(self.request.user)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        organization = job_selectors.organization_for_create(
            self.request.user, data.pop("organization_id", None), field="organization"
        )
        refused = integration_targets_check(
            organization_id=organization.id, slack_channel=data.get("slack_channel", ""),
            jira_project_key=data.get("jira_project_key", ""),
        )
        if refused:
            raise ValidationError({field: [reason] for field, reason in refused.items()})
        serializer.instance = services.project_create(organization=organization, **data)


@extend_schema(tags=["roadmap"])
class ProjectDetail(generics.RetrieveAPIView):
    serializer_class = ProjectSerializer

    def get_queryset(self) -> Any:
        return selectors.projects_for_user(self.request.user)


def _project_for(user: Any, project_id: Any) -> Project:
    project = selectors.projects_for_user(user).filter(id=project_id).first()
    if project is None:
        raise Http404("No such project.")
    return project


@extend_schema(tags=["roadmap"])
class SuggestionListCreate(generics.ListCreateAPIView):
    serializer_class = SuggestionSerializer

    def get_queryset(self) -> Any:
        project = _project_for(self.request.user, self.kwargs["project_id"])
        return selectors.suggestions_for_user(self.request.user).filter(project=project)

    @extend_schema(request=SuggestionCreateSerializer, responses={201: SuggestionSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        project = _project_for(request.user, kwargs["project_id"])
        body = SuggestionCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        theme = Theme.objects.filter(
            id=body.validated_data["theme"], organization_id=project.organization_id
        ).first()
        if theme is None:
            raise ValidationError({"theme": ["No such theme in this project's organization."]})
        try:
            suggestion = services.suggestion_create(
                project=project, theme=theme,
                manual_priority_adjustment=body.validated_data["manual_priority_adjustment"],
            )
        except services.SuggestionExists as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(SuggestionSerializer(suggestion).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["roadmap"])
class SuggestionDetail(generics.RetrieveAPIView):
    """A suggestion; PATCH sets (or with null clears) the manual priority adjustment."""

    serializer_class = SuggestionSerializer

    def get_queryset(self) -> Any:
        return selectors.suggestions_for_user(self.request.user)

    @extend_schema(request=SuggestionAdjustSerializer, responses={200: SuggestionSerializer})
    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        suggestion: RoadmapSuggestion = self.get_object()
        body = SuggestionAdjustSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        suggestion = services.suggestion_adjust(
            suggestion=suggestion,
            manual_priority_adjustment=body.validated_data["manual_priority_adjustment"],
        )
        return Response(SuggestionSerializer(suggestion).data)
