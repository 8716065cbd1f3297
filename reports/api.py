"""The report builder's API, as the seed's contract has it (camelCase fields)."""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs import lifecycle, registry, selectors
from jobs.api.fastserializers import FastModelSerializer
from jobs.api.poll import etag_for
from jobs.errors import InvalidTransition, UnknownJobType
from reports import services
from reports.models import AnalysisJob, Block, ContextItem, Document, Revision
from reports.selectors import document_for, documents_for

# --- serializers -------------------------------------------------------------------


class ContextItemSerializer(FastModelSerializer):
    class Meta:
        model = ContextItem
        fields = ["id", "kind", "text"]


class BlockSerializer(FastModelSerializer):
    documentId = serializers.UUIDField(source="document_id", read_only=True)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)

    class Meta:
        model = Block
        fields = ["id", "documentId", "kind", "position", "prompt", "content", "updatedAt"]
        read_only_fields = ["id"]


class DocumentSerializer(FastModelSerializer):
    useEvidence = serializers.BooleanField(source="use_evidence", required=False)
    useGoals = serializers.BooleanField(source="use_goals", required=False)
    useReviews = serializers.BooleanField(source="use_reviews", required=False)
    organizationId = serializers.UUIDField(source="organization_id", read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    blocks = BlockSerializer(many=True, read_only=True)
    contextItems = ContextItemSerializer(source="context_items", many=True, read_only=True)

    class Meta:
        model = Document
        fields = ["id", "title", "useEvidence", "useGoals", "useReviews", "organizationId",
                  "createdAt", "blocks", "contextItems"]
        read_only_fields = ["id"]


class RevisionSerializer(FastModelSerializer):
    jobId = serializers.UUIDField(source="job_id", read_only=True)
    jobType = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Revision
        fields = ["id", "content", "jobId", "jobType", "source", "createdAt"]

    def get_jobType(self, revision: Revision) -> str | None:
        analysis = getattr(revision.job, "analysis", None) if revision.job_id else None
        return analysis.type if analysis else None


class AnalysisJobCreateSerializer(serializers.Serializer):
    blockId = serializers.UUIDField(required=False, allow_null=True)
    documentId = serializers.UUIDField()
    type = serializers.ChoiceField(choices=AnalysisJob.Type.values)
    prompt = serializers.CharField(required=False, allow_blank=True, max_length=10_000)


def poll_interval_ms(job_type: str) -> int:
    try:
        return registry.get(job_type).poll_interval
    except UnknownJobType:
        return 1000


def analysis_job_body(analysis: AnalysisJob) -> dict[str, Any]:
    job = analysis.job
    # A deleted block leaves the link's block empty; the job's input still names it.
    block_id = analysis.block_id or (job.input or {}).get("block_id")
    return {
        "id": str(job.id),
        "type": analysis.type,
        "status": services.STATUS_NAMES[job.status],
        "progress": job.progress,
        "statusMessage": job.status_message,
        # The text the model has written so far, while it writes (then: result).
        "partialOutput": job.partial_output if job.status == "running" else "",
        "result": job.output,
        "error": job.error or None,
        "createdAt": job.created_at,
        "completedAt": job.completed_at,
        "blockId": str(block_id) if block_id else None,
        "documentId": str(analysis.document_id),
        "pollIntervalMs": poll_interval_ms(job.type),
    }


AnalysisJobBody = inline_serializer(
    "AnalysisJob",
    {
        "id": serializers.UUIDField(),
        "type": serializers.CharField(),
        "status": serializers.ChoiceField(choices=list(services.STATUS_FROM_NAME)),
        "progress": serializers.IntegerField(),
        "statusMessage": serializers.CharField(),
        "partialOutput": serializers.CharField(),
        "result": serializers.JSONField(allow_null=True),
        "error": serializers.CharField(allow_null=True),
        "createdAt": serializers.DateTimeField(),
        "completedAt": serializers.DateTimeField(allow_null=True),
        "blockId": serializers.UUIDField(allow_null=True),
        "documentId": serializers.UUIDField(),
        "pollIntervalMs": serializers.IntegerField(),
    },
)


def analysis_for(user: Any, job_id: Any) -> AnalysisJob:
    analysis = (
        AnalysisJob.objects.select_related("job")
        .filter(job_id=job_id, document__in=documents_for(user))
        .first()
    )
    if analysis is None:
        raise Http404("No such job.")
    return analysis


# --- analysis jobs -------------------------------------------------------------------


class AnalysisJobListCreate(APIView):
    @extend_schema(
        summary="Start an AI job on a block (GENERATE, REFINE) or a document (ANALYZE)",
        request=AnalysisJobCreateSerializer,
        responses={
            201: inline_serializer("AnalysisJobCreated", {
                "jobId": serializers.UUIDField(), "status": serializers.CharField()}),
            400: OpenApiResponse(description="Bad input: the body names each field and why"),
            409: OpenApiResponse(description="A job for this block is already queued"),
            429: OpenApiResponse(description="Too many active jobs (see Retry-After)"),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = AnalysisJobCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        document = documents_for(request.user).filter(id=data["documentId"]).first()
        if document is None:
            raise ValidationError({"documentId": ["No such document."]})
        block = None
        if data.get("blockId"):
            block = document.blocks.filter(id=data["blockId"]).first()
            if block is None:
                raise ValidationError({"blockId": ["No such block in this document."]})
        elif data["type"] != AnalysisJob.Type.ANALYZE:
            raise ValidationError({"blockId": ["This field is required for GENERATE and REFINE."]})
        prompt = data.get("prompt", "")
        if data["type"] == AnalysisJob.Type.GENERATE and not (prompt or (block and block.prompt)):
            raise ValidationError({"prompt": ["The block has no prompt; give one."]})
        if data["type"] == AnalysisJob.Type.REFINE:
            if not prompt:
                raise ValidationError({"prompt": ["REFINE needs feedback in prompt."]})
            if block is not None and not block.content:
                raise ValidationError({"blockId": ["The block has no content to refine yet."]})
        analysis = services.analysis_job_create(
            document=document, block=block, type=data["type"], prompt=prompt, user=request.user
        )
        return Response({"jobId": str(analysis.job_id), "status": "PENDING"},
                        status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="report_builder_jobs_list",
        summary="List analysis jobs",
        parameters=[
            OpenApiParameter("documentId", str),
            OpenApiParameter("status", str, enum=list(services.STATUS_FROM_NAME)),
            OpenApiParameter("limit", int),
        ],
        responses={200: inline_serializer("AnalysisJobList", {"jobs": AnalysisJobBody})},
    )
    def get(self, request: Request) -> Response:
        qs = (
            AnalysisJob.objects.select_related("job")
            .filter(document__in=documents_for(request.user))
            .order_by("-job__created_at")
        )
        params = request.query_params
        errors: dict[str, list[str]] = {}
        if params.get("documentId"):
            try:
                qs = qs.filter(document_id=serializers.UUIDField().to_internal_value(
                    params["documentId"]))
            except ValidationError:
                errors["documentId"] = ["Must be a valid UUID."]
        if params.get("status"):
            if params["status"] not in services.STATUS_FROM_NAME:
                errors["status"] = [f"Must be one of {', '.join(services.STATUS_FROM_NAME)}."]
            else:
                qs = qs.filter(job__status=services.STATUS_FROM_NAME[params["status"]])
        limit = 50
        if params.get("limit"):
            try:
                limit = int(params["limit"])
                if not 1 <= limit <= 200:
                    raise ValueError
            except ValueError:
                errors["limit"] = ["Must be a whole number from 1 to 200."]
        if errors:
            raise ValidationError(errors)
        return Response({"jobs": [analysis_job_body(a) for a in qs[:limit]]})


class AnalysisJobDetail(APIView):
    @extend_schema(
        summary="An analysis job's status and result",
        description="Poll it every `pollIntervalMs`; send the last `ETag` as "
        "`If-None-Match` to get 304 while nothing changed.",
        parameters=[OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER)],
        responses={200: AnalysisJobBody, 304: OpenApiResponse(description="Not modified"),
                   404: OpenApiResponse(description="No such job in your organization")},
    )
    def get(self, request: Request, job_id: Any) -> Response:
        analysis = analysis_for(request.user, job_id)
        # Everything the body shows changes with the job row (the link row never changes).
        etag = etag_for(analysis.job)
        headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
        if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers=headers)
        return Response(analysis_job_body(analysis), headers=headers)

    @extend_schema(
        summary="Cancel an analysis job (a running one stops)",
        responses={
            200: inline_serializer("Cancelled", {
                "success": serializers.BooleanField(), "message": serializers.CharField()}),
            404: OpenApiResponse(description="No such job in your organization"),
            409: OpenApiResponse(description="Already finished: {success: false, message}"),
        },
    )
    def delete(self, request: Request, job_id: Any) -> Response:
        analysis = analysis_for(request.user, job_id)
        try:
            lifecycle.job_cancel(analysis.job_id, actor=request.user.get_username())
        except InvalidTransition as exc:
            return Response({"success": False, "message": str(exc)},
                            status=status.HTTP_409_CONFLICT)
        return Response({"success": True, "message": "Job cancelled"})


# --- documents and blocks -----------------------------------------------------------


class DocumentListCreate(generics.ListCreateAPIView):
    serializer_class = DocumentSerializer

    def get_queryset(self) -> QuerySet[Document]:
        return documents_for(self.request.user).prefetch_related("blocks", "context_items")

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        organization = selectors.organization_for_create(self.request.user, field="organizationId")
        serializer.instance = services.document_create(
            organization=organization, **serializer.validated_data
        )


class DocumentDetail(generics.RetrieveUpdateDestroyAPIView):
    serializer_class = DocumentSerializer
    lookup_url_kwarg = "document_id"

    def get_queryset(self) -> QuerySet[Document]:
        return documents_for(self.request.user).prefetch_related("blocks", "context_items")

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.document_update(
            document=cast(Document, serializer.instance), **serializer.validated_data
        )

    def perform_destroy(self, instance: Document) -> None:
        services.document_delete(document=instance)


class BlockListCreate(generics.ListCreateAPIView):
    serializer_class = BlockSerializer
    pagination_class = None

    def get_queryset(self) -> QuerySet[Block]:
        return document_for(self.request.user, self.kwargs["document_id"]).blocks.all()

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        document = document_for(self.request.user, self.kwargs["document_id"])
        serializer.instance = services.block_create(document=document, **serializer.validated_data)


class BlockDetail(generics.RetrieveUpdateDestroyAPIView):
    serializer_class = BlockSerializer
    lookup_url_kwarg = "block_id"

    def get_queryset(self) -> QuerySet[Block]:
        return document_for(self.request.user, self.kwargs["document_id"]).blocks.all()

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.block_update(
            block=cast(Block, serializer.instance), **serializer.validated_data
        )

    def perform_destroy(self, instance: Block) -> None:
        services.block_delete(block=instance)


class BlockRevisionList(generics.ListAPIView):
    serializer_class = RevisionSerializer
    pagination_class = None

    def get_queryset(self) -> QuerySet[Revision]:
        document = document_for(self.request.user, self.kwargs["document_id"])
        block = document.blocks.filter(id=self.kwargs["block_id"]).first()
        if block is None:
            raise Http404("No such block.")
        return block.revisions.select_related("job__analysis")


class ContextItemCreate(generics.ListCreateAPIView):
    serializer_class = ContextItemSerializer
    pagination_class = None

    def get_queryset(self) -> QuerySet[ContextItem]:
        return document_for(self.request.user, self.kwargs["document_id"]).context_items.all()

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        document = document_for(self.request.user, self.kwargs["document_id"])
        serializer.instance = services.context_item_create(
            document=document, **serializer.validated_data
        )
