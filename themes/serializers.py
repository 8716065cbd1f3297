"""Serializers: the theme-scan body (the seed's table), its answers, interviews and themes."""

from __future__ import annotations

from rest_framework import serializers

from jobs.api.fastserializers import FastModelSerializer
from themes.models import AuditEntry, Interview, Quote, Theme


class ThemeScanInput(serializers.Serializer):
    """The seed's request body; also the `themes.scan` job's input."""

    org_id = serializers.UUIDField(help_text="Organization ID")
    lookback_days = serializers.IntegerField(
        min_value=1, max_value=3650, default=30, help_text="How far back to scan"
    )
    max_interviews = serializers.IntegerField(
        min_value=1, max_value=500, default=50, help_text="Max interviews to analyze"
    )
    dry_run = serializers.BooleanField(default=False, help_text="Extract without writing")


class ScanThemeSerializer(serializers.Serializer):
    name = serializers.CharField()
    slug = serializers.CharField()
    confidence_score = serializers.FloatField()
    occurrences = serializers.IntegerField()
    action = serializers.ChoiceField(
        choices=["created", "updated", "would_create", "would_update"]
    )


class ScanSkippedSerializer(serializers.Serializer):
    name = serializers.CharField(required=False)
    slug = serializers.CharField(required=False)
    reason = serializers.CharField()
    links_dropped = serializers.IntegerField(required=False)


class ScanResultSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    themes_created = serializers.IntegerField()
    themes_updated = serializers.IntegerField()
    links_created = serializers.IntegerField()
    skipped = ScanSkippedSerializer(many=True)
    themes = ScanThemeSerializer(many=True)
    offline = serializers.BooleanField(help_text="True when the offline provider answered")


class ThemeScanDoneSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    result = ScanResultSerializer()


class ThemeScanQueuedSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    job_id = serializers.UUIDField()
    status = serializers.CharField()
    poll_url = serializers.CharField()


class ThemeScanFailedSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    error = serializers.CharField()
    job_id = serializers.UUIDField(required=False)


class QuoteSerializer(FastModelSerializer):
    class Meta:
        model = Quote
        fields = ["id", "text"]


class InterviewSerializer(FastModelSerializer):
    quotes = QuoteSerializer(many=True, read_only=True)
    organization = serializers.UUIDField(source="organization_id", read_only=True)

    class Meta:
        model = Interview
        fields = ["id", "organization", "title", "interviewed_at", "transcript", "quotes",
                  "created_at"]


class InterviewCreateSerializer(serializers.Serializer):
    organization = serializers.UUIDField(
        required=False, help_text="Default: your first organization"
    )
    title = serializers.CharField(max_length=200)
    interviewed_at = serializers.DateField()
    transcript = serializers.CharField(required=False, allow_blank=True, default="",
                                       max_length=200_000)
    quotes = serializers.ListField(
        child=serializers.CharField(max_length=5000), required=False, default=list,
        max_length=200,
    )

    def validate(self, attrs: dict) -> dict:
        if not attrs.get("quotes") and not attrs.get("transcript", "").strip():
            raise serializers.ValidationError(
                {"quotes": ["Give quotes or a transcript: the scanner reads them."]}
            )
        return attrs


class ThemeSerializer(FastModelSerializer):
    class Meta:
        model = Theme
        fields = ["id", "name", "slug", "description", "confidence_score", "occurrences",
                  "last_detected_at", "created_at", "updated_at"]


class AuditEntrySerializer(FastModelSerializer):
    class Meta:
        model = AuditEntry
        fields = ["id", "job", "actor", "tool", "action", "entity", "entity_id", "before",
                  "after", "created_at"]
