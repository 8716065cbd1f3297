"""Serializers: the generate request (the seed's camelCase body), projects, suggestions, stats."""

from __future__ import annotations

from rest_framework import serializers

from jobs.api.fastserializers import FastModelSerializer
from roadmap.models import Priority, Project, RoadmapSuggestion


class RegenerateInput(serializers.Serializer):
    """The `roadmap.regenerate` job's input (the seed's event data)."""

    project_id = serializers.UUIDField()
    generate_reasoning = serializers.BooleanField(default=True)


class GenerateRequest(serializers.Serializer):
    projectId = serializers.UUIDField()  # noqa: N815 - the seed's field names
    generateReasoning = serializers.BooleanField(default=True)  # noqa: N815


class GenerateQueuedSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    jobId = serializers.UUIDField()  # noqa: N815
    status = serializers.CharField()
    pollUrl = serializers.CharField()  # noqa: N815


class GenerationStatsRow(serializers.Serializer):
    date = serializers.DateField()
    runs = serializers.IntegerField()
    avg_time_ms = serializers.FloatField()
    total_tokens = serializers.IntegerField()
    successful_runs = serializers.IntegerField()


class ProjectSerializer(FastModelSerializer):
    organization = serializers.UUIDField(
        source="organization_id", required=False,
        help_text="Default: your first organization",
    )

    class Meta:
        model = Project
        fields = ["id", "organization", "name", "status", "slack_channel", "jira_project_key",
                  "created_at"]
        read_only_fields = ["id", "created_at"]


class SuggestionSerializer(FastModelSerializer):
    theme_name = serializers.CharField(source="theme.name", read_only=True)
    effective_priority = serializers.CharField(read_only=True)

    class Meta:
        model = RoadmapSuggestion
        fields = ["id", "project", "theme", "theme_name", "score", "priority_level",
                  "manual_priority_adjustment", "effective_priority", "reasoning_text",
                  "jira_issue_key", "created_at", "updated_at"]
        read_only_fields = fields


class SuggestionCreateSerializer(serializers.Serializer):
    theme = serializers.IntegerField(help_text="Theme id (of the project's organization)")
    manual_priority_adjustment = serializers.ChoiceField(
        choices=Priority.choices, required=False, allow_null=True, default=None
    )


class SuggestionAdjustSerializer(serializers.Serializer):
    manual_priority_adjustment = serializers.ChoiceField(
        choices=Priority.choices, allow_null=True,
        help_text="A person's priority; null returns to the computed one",
    )
