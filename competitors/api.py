"""`/api/decisions`: decisions and options are created and listed here; what the jobs
gather (competitor profiles, market research, evidence, briefs) is read here.

Jobs are started with the platform's `POST /api/jobs {type, decision_id, input}`.
"""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet, prefetch_related_objects
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, serializers

from competitors import selectors, services
from competitors.models import (
    CompetitorProfile,
    Decision,
    EvidenceItem,
    MarketResearch,
    Option,
    Output,
)
from jobs import selectors as job_selectors
from jobs.api.fastserializers import FastModelSerializer
from jobs.api.serializers import JobSerializer

# --- serializers ----------------------------------------------------------------------


class OptionSerializer(FastModelSerializer):
    decision_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = Option
        fields = ["id", "decision_id", "title", "description", "position", "ai_analysis",
                  "analysis_job_id", "analyzed_at", "created_at", "updated_at"]
        read_only_fields = ["id", "position", "ai_analysis", "analysis_job_id", "analyzed_at",
                            "created_at", "updated_at"]


class CompetitorProfileSerializer(FastModelSerializer):
    decision_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = CompetitorProfile
        fields = ["id", "decision_id", "job_id", "company_name", "company_url", "status",
                  "summary", "positioning", "target_customers", "pricing", "products",
                  "strengths", "weaknesses", "threat_level", "implications", "website",
                  "recent_news", "review_highlights", "offline", "provider", "model",
                  "generated_at"]
        read_only_fields = fields


class EvidenceItemSerializer(FastModelSerializer):
    decision_id = serializers.UUIDField(read_only=True)
    market_research_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = EvidenceItem
        fields = ["id", "decision_id", "market_research_id", "origin", "job_id", "query",
                  "title", "summary", "stance", "relevance", "source_title", "source_url",
                  "offline", "created_at"]
        read_only_fields = fields


class MarketResearchSerializer(FastModelSerializer):
    decision_id = serializers.UUIDField(read_only=True)
    evidence_items = EvidenceItemSerializer(many=True, read_only=True)

    class Meta:
        model = MarketResearch
        fields = ["id", "decision_id", "job_id", "query", "summary", "market_size", "trends",
                  "sources_searched", "offline", "generated_at", "evidence_items"]
        read_only_fields = fields


class OutputSerializer(FastModelSerializer):
    decision_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = Output
        fields = ["id", "decision_id", "job_id", "kind", "title", "content", "offline",
                  "provider", "model", "generated_at"]
        read_only_fields = fields


class DecisionSerializer(FastModelSerializer):
    organization_id = serializers.UUIDField(
        required=False, allow_null=True,
        help_text="Which of your organizations; defaults to your first one.",
    )
    option_count = serializers.IntegerField(read_only=True, default=0)
    competitor_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Decision
        fields = ["id", "title", "context", "organization_id", "option_count",
                  "competitor_count", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class DecisionDetailSerializer(FastModelSerializer):
    organization_id = serializers.UUIDField(read_only=True)
    options = OptionSerializer(many=True, read_only=True)
    competitor_profiles = CompetitorProfileSerializer(many=True, read_only=True)
    market_research = MarketResearchSerializer(many=True, read_only=True)
    evidence_items = EvidenceItemSerializer(many=True, read_only=True)
    outputs = OutputSerializer(many=True, read_only=True)

    class Meta:
        model = Decision
        fields = ["id", "title", "context", "organization_id", "created_at", "updated_at",
                  "options", "competitor_profiles", "market_research", "evidence_items",
                  "outputs"]
        read_only_fields = ["id", "organization_id", "created_at", "updated_at"]


# --- decisions ----------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(summary="List your organizations' decisions"),
    post=extend_schema(summary="Create a decision"),
)
class DecisionListCreate(generics.ListCreateAPIView):
    serializer_class = DecisionSerializer

    def get_queryset(self) -> QuerySet[Decision]:
        return selectors.decisions_for_user(self.request.user).order_by("-created_at")

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = serializer.validated_data
        serializer.instance = services.decision_create(
            organization=job_selectors.organization_for_create(
                self.request.user, data.get("organization_id")
            ),
            title=data["title"],
            context=data.get("context", ""),
            user=self.request.user,
        )


@extend_schema_view(
    get=extend_schema(summary="A decision with its options, profiles, research, evidence "
                      "and outputs"),
    patch=extend_schema(summary="Change a decision's title or context"),
    put=extend_schema(summary="Replace a decision's title and context"),
    delete=extend_schema(summary="Delete a decision and everything gathered for it"),
)
class DecisionDetail(generics.RetrieveUpdateDestroyAPIView):
    serializer_class = DecisionDetailSerializer

    def get_object(self) -> Decision:
        decision = selectors.decision_for_user(self.request.user, self.kwargs["decision_id"])
        # One query per relation, not one per market research row for its evidence.
        prefetch_related_objects([decision], "options", "competitor_profiles",
                                 "market_research__evidence_items", "evidence_items", "outputs")
        return decision

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        services.decision_update(decision=cast(Decision, serializer.instance),
                                 **serializer.validated_data)

    def perform_destroy(self, instance: Decision) -> None:
        services.decision_delete(decision=instance)


# --- options ------------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(summary="A decision's options"),
    post=extend_schema(summary="Add an option to a decision"),
)
class OptionListCreate(generics.ListCreateAPIView):
    serializer_class = OptionSerializer
    pagination_class = None

    def decision(self) -> Decision:
        return selectors.decision_for_user(self.request.user, self.kwargs["decision_id"])

    def get_queryset(self) -> QuerySet[Option]:
        return self.decision().options.all()

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = serializer.validated_data
        serializer.instance = services.option_create(
            decision=self.decision(), title=data["title"],
            description=data.get("description", ""),
        )


@extend_schema_view(
    get=extend_schema(summary="An option, with its AI analysis once option_analysis ran"),
    patch=extend_schema(summary="Change an option"),
    put=extend_schema(summary="Replace an option's title and description"),
    delete=extend_schema(summary="Delete an option"),
)
class OptionDetail(generics.RetrieveUpdateDestroyAPIView):
    serializer_class = OptionSerializer

    def get_object(self) -> Option:
        decision = selectors.decision_for_user(self.request.user, self.kwargs["decision_id"])
        return selectors.option_for(decision, self.kwargs["option_id"])

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        services.option_update(option=cast(Option, serializer.instance),
                               **serializer.validated_data)

    def perform_destroy(self, instance: Option) -> None:
        services.option_delete(option=instance)


# --- what the jobs gathered ----------------------------------------------------------------


class _DecisionChildList(generics.ListAPIView):
    related = ""
    prefetch: tuple[str, ...] = ()  # what the serializer reads of each row's relations

    def get_queryset(self) -> QuerySet[Any]:
        decision = selectors.decision_for_user(self.request.user, self.kwargs["decision_id"])
        return getattr(decision, self.related).all().prefetch_related(*self.prefetch)


@extend_schema_view(get=extend_schema(summary="A decision's competitor profiles"))
class CompetitorProfileList(_DecisionChildList):
    serializer_class = CompetitorProfileSerializer
    related = "competitor_profiles"


@extend_schema_view(get=extend_schema(summary="One competitor profile"))
class CompetitorProfileDetail(generics.RetrieveAPIView):
    serializer_class = CompetitorProfileSerializer

    def get_object(self) -> CompetitorProfile:
        decision = selectors.decision_for_user(self.request.user, self.kwargs["decision_id"])
        return selectors.profile_for(decision, self.kwargs["profile_id"])


@extend_schema_view(get=extend_schema(summary="A decision's market research"))
class MarketResearchList(_DecisionChildList):
    serializer_class = MarketResearchSerializer
    related = "market_research"
    prefetch = ("evidence_items",)


@extend_schema_view(get=extend_schema(summary="A decision's evidence items"))
class EvidenceItemList(_DecisionChildList):
    serializer_class = EvidenceItemSerializer
    related = "evidence_items"


@extend_schema_view(get=extend_schema(summary="A decision's outputs (briefs)"))
class OutputList(_DecisionChildList):
    serializer_class = OutputSerializer
    related = "outputs"


@extend_schema_view(get=extend_schema(summary="One output (a brief) with its content"))
class OutputDetail(generics.RetrieveAPIView):
    serializer_class = OutputSerializer

    def get_object(self) -> Output:
        decision = selectors.decision_for_user(self.request.user, self.kwargs["decision_id"])
        return selectors.output_for(decision, self.kwargs["output_id"])


@extend_schema_view(get=extend_schema(summary="The jobs started for a decision, newest first"))
class DecisionJobList(generics.ListAPIView):
    serializer_class = JobSerializer

    def get_queryset(self) -> QuerySet[Any]:
        decision = selectors.decision_for_user(self.request.user, self.kwargs["decision_id"])
        return selectors.decision_jobs(decision)
