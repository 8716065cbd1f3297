"""Shapes of GET /api/ops/summary (documented in the OpenAPI schema)."""

from __future__ import annotations

from rest_framework import serializers


class TypeMetricsSerializer(serializers.Serializer):
    type = serializers.CharField(help_text='A job type, or "all" for the totals')
    queue = serializers.CharField()
    created_last_hour = serializers.IntegerField()
    completed_last_hour = serializers.IntegerField()
    failed_last_hour = serializers.IntegerField()
    cancelled_last_hour = serializers.IntegerField()
    failure_rate = serializers.FloatField(help_text="failed / (completed + failed), last hour")
    avg_duration_s = serializers.FloatField(allow_null=True)
    p95_duration_s = serializers.FloatField(allow_null=True)
    p95_baseline_s = serializers.FloatField(allow_null=True, help_text="trailing 7-day P95")
    baseline_samples = serializers.IntegerField()
    pending = serializers.IntegerField()
    backing_off = serializers.IntegerField()
    running = serializers.IntegerField()
    oldest_pending_s = serializers.FloatField(allow_null=True)
    stuck = serializers.IntegerField()
    retries_last_hour = serializers.IntegerField()


class QueueDepthSerializer(serializers.Serializer):
    queue = serializers.CharField()
    todo = serializers.IntegerField()
    doing = serializers.IntegerField()
    pending_jobs = serializers.IntegerField()


class RunTypeStatusSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="A run-log type (jobs.RunLog.job_type)")
    scheduled = serializers.BooleanField(help_text="In OPS_SCHEDULED_RUN_TYPES: alerted on")
    status = serializers.CharField(
        help_text='The last run: running, success, failed, skipped or ""')
    last_failed = serializers.BooleanField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    age_s = serializers.FloatField(allow_null=True, help_text="since the last run started")
    processed = serializers.IntegerField()
    failed = serializers.IntegerField()
    duration_ms = serializers.IntegerField()
    error = serializers.CharField(allow_blank=True, help_text="the last run's first error")
    finished_status = serializers.CharField(allow_blank=True,
                                            help_text="the last finished run's status")
    finished_failed = serializers.IntegerField()
    finished_error = serializers.CharField(allow_blank=True)
    finished_at_last = serializers.DateTimeField(allow_null=True)


class GenerationDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    runs = serializers.IntegerField()
    avg_time_ms = serializers.FloatField()
    total_tokens = serializers.IntegerField()
    successful_runs = serializers.IntegerField()


class AlertStateSerializer(serializers.Serializer):
    key = serializers.CharField()
    since = serializers.DateTimeField()
    value = serializers.FloatField()
    message = serializers.CharField()


class AlertEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    severity = serializers.CharField()
    action = serializers.CharField()
    message = serializers.CharField()
    value = serializers.FloatField()
    delivery = serializers.CharField()
    created_at = serializers.DateTimeField()


class AlertsSerializer(serializers.Serializer):
    active = AlertStateSerializer(many=True)
    recent = AlertEventSerializer(many=True)


class SummarySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    overall = TypeMetricsSerializer()
    types = TypeMetricsSerializer(many=True)
    queues = QueueDepthSerializer(many=True)
    runs = RunTypeStatusSerializer(many=True, help_text="Each run-log type's last run")
    roadmap = GenerationDaySerializer(
        many=True, help_text="Roadmap generations per day, last 30 days, newest first")
    alerts = AlertsSerializer()
