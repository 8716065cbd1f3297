from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from jobs import registry, selectors
from jobs.api.fastserializers import FastModelSerializer
from jobs.errors import UnknownJobType
from jobs.models import Job, JobEvent


class JobCreateSerializer(serializers.Serializer):
    type = serializers.CharField(max_length=64)
    input = serializers.JSONField(required=False, default=dict)
    decision_id = serializers.UUIDField(required=False, allow_null=True)
    organization_id = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="Which of your organizations; defaults to your first one.",
    )

    def validate_type(self, value: str) -> str:
        if value not in registry.public_type_names():
            known = ", ".join(registry.public_type_names())
            raise serializers.ValidationError(f"Unknown job type {value!r}. Known types: {known}.")
        return value

    def validate_input(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return value


class JobCreatedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    poll_url = serializers.CharField()


class JobSerializer(FastModelSerializer):
    organization_id = serializers.UUIDField(read_only=True)
    poll_interval_ms = serializers.SerializerMethodField()
    poll_url = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id",
            "type",
            "status",
            "progress",
            "status_message",
            "input",
            "output",
            "partial_output",
            "error",
            "error_kind",
            "attempts",
            "max_attempts",
            "organization_id",
            "decision_id",
            "scope",
            "source",
            "created_at",
            "started_at",
            "completed_at",
            "updated_at",
            "cancel_requested_at",
            "poll_interval_ms",
            "poll_url",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField())
    def get_poll_interval_ms(self, job: Job) -> int:
        try:
            return registry.get(job.type).poll_interval
        except UnknownJobType:
            return int(settings.JOBS["DEFAULT_POLL_INTERVAL_MS"])

    @extend_schema_field(serializers.CharField())
    def get_poll_url(self, job: Job) -> str:
        return f"/api/jobs/{job.id}"


class JobEventSerializer(FastModelSerializer):
    class Meta:
        model = JobEvent
        fields = ["id", "kind", "from_status", "to_status", "progress", "message", "created_at"]
        read_only_fields = fields


class JobTypeSerializer(serializers.Serializer):
    name = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    poll_interval_ms = serializers.IntegerField(source="poll_interval")
    max_duration_seconds = serializers.IntegerField(source="max_duration")
    typical_duration = serializers.SerializerMethodField(
        help_text="How long a run usually takes, in words: measured over the type's latest "
                  "completed runs once there are a few, else the type's written estimate.")
    measured_duration = serializers.SerializerMethodField(
        help_text="Seconds from start to completion over the latest completed runs "
                  "(runs, p25, median, p75), or null before there are a few.")
    max_retries = serializers.IntegerField(source="retries")

    def _measured(self, job_type: Any) -> dict[str, float | int] | None:
        measured = self.context.get("measured") or {}
        return measured.get(job_type.name)

    def get_typical_duration(self, job_type: Any) -> str:
        return selectors.duration_hint(self._measured(job_type), job_type.typical_duration)

    @extend_schema_field({"type": "object", "nullable": True, "properties": {
        "runs": {"type": "integer"}, "p25": {"type": "number"},
        "median": {"type": "number"}, "p75": {"type": "number"}}})
    def get_measured_duration(self, job_type: Any) -> dict[str, float | int] | None:
        return self._measured(job_type)
