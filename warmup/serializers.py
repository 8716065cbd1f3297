"""Inputs of the warmup jobs and the shapes of the warmup API."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from jobs.api.fastserializers import FastModelSerializer
from warmup.models import Comparison

# The seed's maxima per run: 50 comparisons 5 at a time; 30, 3 at a time.
FORECASTS_MAX_LIMIT, FORECASTS_MAX_CONCURRENCY = 50, 5
AI_MAX_LIMIT, AI_MAX_CONCURRENCY = 30, 3


class ForecastsInput(serializers.Serializer):
    limit = serializers.IntegerField(
        min_value=1, max_value=FORECASTS_MAX_LIMIT,
        default=lambda: settings.WARMUP_FORECASTS_LIMIT)
    concurrency = serializers.IntegerField(
        min_value=1, max_value=FORECASTS_MAX_CONCURRENCY,
        default=lambda: settings.WARMUP_FORECASTS_CONCURRENCY)


class AIExplanationsInput(serializers.Serializer):
    limit = serializers.IntegerField(
        min_value=1, max_value=AI_MAX_LIMIT, default=lambda: settings.WARMUP_AI_LIMIT)
    concurrency = serializers.IntegerField(
        min_value=1, max_value=AI_MAX_CONCURRENCY,
        default=lambda: settings.WARMUP_AI_CONCURRENCY)


class OnDemandInput(serializers.Serializer):
    slug = serializers.SlugField(max_length=200)
    data_hash = serializers.CharField(max_length=32, required=False, default="")


class OnDemandRequest(serializers.Serializer):
    slug = serializers.SlugField(max_length=200)
    dataHash = serializers.CharField(max_length=32, required=False)


class WarmupAccepted(serializers.Serializer):
    success = serializers.BooleanField()
    jobId = serializers.UUIDField()
    status = serializers.CharField()
    statusUrl = serializers.CharField()


class WarmupRefused(serializers.Serializer):
    success = serializers.BooleanField()
    error = serializers.CharField()
    jobId = serializers.UUIDField(allow_null=True)


class OnDemandAccepted(serializers.Serializer):
    success = serializers.BooleanField()
    jobId = serializers.UUIDField(allow_null=True)
    alreadyQueued = serializers.BooleanField()
    slug = serializers.CharField()
    dataHash = serializers.CharField()


class _Until(serializers.Serializer):
    fresh = serializers.DateTimeField()
    stale = serializers.DateTimeField()


class PremiumPack(serializers.Serializer):
    slug = serializers.CharField()
    terms = serializers.ListField(child=serializers.CharField())
    dataHash = serializers.CharField()
    forecast = serializers.JSONField(allow_null=True)
    insights = serializers.JSONField(allow_null=True)
    freshness = serializers.DictField(child=serializers.ChoiceField(
        choices=["fresh", "stale", "missing"]))
    cachedUntil = serializers.DictField(child=_Until(allow_null=True))
    needsWarmup = serializers.BooleanField()
    warmupJobId = serializers.UUIDField(allow_null=True)


class RunLogOut(serializers.Serializer):
    id = serializers.IntegerField()
    jobId = serializers.UUIDField(source="job_id", allow_null=True)
    jobType = serializers.CharField(source="job_type")
    status = serializers.CharField()
    processed = serializers.IntegerField()
    failed = serializers.IntegerField()
    # A declared field named like Serializer.errors: DRF's metaclass takes it out of
    # the class attributes, so the property is untouched at run time.
    errors = serializers.ListField(child=serializers.CharField())  # type: ignore[assignment]
    durationMs = serializers.IntegerField(source="duration_ms")
    metadata = serializers.JSONField()
    startedAt = serializers.DateTimeField(source="started_at")
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)


def _series_field(source: str) -> serializers.ListField:
    return serializers.ListField(
        source=source, child=serializers.FloatField(min_value=0, max_value=1_000_000),
        min_length=2, max_length=520,  # two to 520 weeks (ten years)
    )


class SeriesIn(serializers.Serializer):
    seriesA = _series_field("series_a")
    seriesB = _series_field("series_b")
    seriesStart = serializers.DateField(source="series_start", required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if len(attrs["series_a"]) != len(attrs["series_b"]):
            raise serializers.ValidationError(
                {"seriesB": ["Must have as many weeks as seriesA."]})
        return attrs


class ComparisonSerializer(FastModelSerializer):
    termA = serializers.CharField(source="term_a", max_length=100)
    termB = serializers.CharField(source="term_b", max_length=100)
    seriesA = _series_field("series_a")
    seriesB = _series_field("series_b")
    seriesStart = serializers.DateField(source="series_start", required=False, allow_null=True)
    dataHash = serializers.CharField(source="data_hash", read_only=True)
    viewCount = serializers.IntegerField(source="view_count", read_only=True)
    lastVisitedAt = serializers.DateTimeField(source="last_visited_at", read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Comparison
        fields = ["slug", "termA", "termB", "seriesA", "seriesB", "seriesStart", "dataHash",
                  "viewCount", "lastVisitedAt", "createdAt"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if len(attrs["series_a"]) != len(attrs["series_b"]):
            raise serializers.ValidationError(
                {"seriesB": ["Must have as many weeks as seriesA."]})
        return attrs
