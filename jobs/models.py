"""The job platform's tables.

`Job` is the API-visible job; its status changes only through
`jobs.lifecycle`. `JobEvent` is append-only: one row per transition (and per
progress report), which is also what the event stream replays.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Organization(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member"
        ADMIN = "admin"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="unique_membership")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization}"


class JobStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_STATUSES = (JobStatus.PENDING, JobStatus.RUNNING)
FINAL_STATUSES = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


class ErrorKind(models.TextChoices):
    RETRYABLE = "retryable"  # timeouts, connection errors, 5xx
    RATE_LIMITED = "rate_limited"  # provider 429
    PARSE = "parse"  # the LLM did not return the JSON asked for
    INVALID_INPUT = "invalid_input"
    AUTH = "auth"  # missing key, 401/403
    PERMANENT = "permanent"  # any other non-retryable failure
    EXPIRED = "expired"
    INTERNAL = "internal"  # an unexpected exception in a handler


class Job(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=64)
    status = models.CharField(
        max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING
    )
    progress = models.PositiveSmallIntegerField(default=0)
    status_message = models.CharField(max_length=255, blank=True, default="")
    input = models.JSONField(default=dict, blank=True)
    output = models.JSONField(null=True, blank=True)
    # The text a streamed LLM call has written so far (an async handler's
    # `ctx.partial_writer()`), coalesced; the final result is `output`.
    partial_output = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")
    error_kind = models.CharField(max_length=32, choices=ErrorKind.choices, blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=4)

    # No index of its own: job_org_created_idx (organization, -created_at)
    # serves every lookup by organization; one index fewer for each
    # transition's (non-HOT) UPDATE to maintain.
    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="jobs",
        db_index=False,
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
    )
    # The decision a job works on (competitors app); no foreign key, since the
    # platform knows no domain app. Limits count active jobs per decision.
    decision_id = models.UUIDField(null=True, blank=True)
    # Any other entity the job is about ("document:<id>", "comparison:<slug>").
    scope = models.CharField(max_length=200, blank=True, default="")
    # Who or what started it: "api", "schedule", "internal", "admin", "event".
    source = models.CharField(max_length=32, default="api")

    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    # The W3C trace context (traceparent, tracestate) of the request that created
    # the job, when tracing is on: the worker continues that trace (jobs.tracing).
    trace_context = models.JSONField(default=dict, blank=True)
    procrastinate_job_id = models.BigIntegerField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    # When the job last became runnable: creation, or the end of a retry's back-off.
    available_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # Admission: count active jobs per organization (and user, decision).
            # INCLUDE: the per-user and per-decision counts read from the index
            # alone (index-only scan), not from the heap.
            models.Index(
                fields=["organization", "status"],
                name="job_active_org_idx",
                condition=Q(status__in=["pending", "running"]),
                include=["user", "decision_id"],
            ),
            # Admission: a person's active jobs across all their organizations.
            models.Index(
                fields=["user"],
                name="job_active_user_idx",
                condition=Q(status__in=["pending", "running"]),
            ),
            models.Index(
                fields=["decision_id"],
                name="job_active_decision_idx",
                condition=Q(status__in=["pending", "running"]),
            ),
            # Expiry: active jobs by age.
            models.Index(
                fields=["status", "available_at"],
                name="job_active_age_idx",
                condition=Q(status__in=["pending", "running"]),
            ),
            # Listing: an organization's jobs, newest first.
            models.Index(fields=["organization", "-created_at"], name="job_org_created_idx"),
            # Retention and metrics: finished jobs by time. Partial, like the
            # next one: a job's status change updates the row outside HOT, and
            # each index whose predicate the new row does not meet is one
            # entry fewer to write (start skips this one, completion the next).
            models.Index(
                fields=["status", "completed_at"],
                name="job_status_completed_idx",
                condition=Q(status__in=["completed", "failed", "cancelled"]),
            ),
            models.Index(fields=["type", "created_at"], name="job_type_created_idx"),
            # Rescue: the running job of a stalled queue row.
            models.Index(
                fields=["procrastinate_job_id"],
                name="job_procrastinate_idx",
                condition=Q(status__in=["pending", "running"]),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="job_progress_lte_100"),
        ]
        # The admin's actions (the admin shows jobs read-only, so not "change").
        permissions = [
            ("cancel_job", "Can cancel jobs in the admin"),
            ("retry_job", "Can retry jobs in the admin (skips the users' limits)"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class JobEvent(models.Model):
    class Kind(models.TextChoices):
        CREATED = "created"
        STARTED = "started"
        PROGRESS = "progress"
        COMPLETED = "completed"
        RETRY_SCHEDULED = "retry_scheduled"
        FAILED = "failed"
        CANCEL_REQUESTED = "cancel_requested"
        CANCELLED = "cancelled"
        EXPIRED = "expired"
        RESCUED = "rescued"
        REQUEUED = "requeued"  # handed back on worker shutdown
        RETRIED = "retried"  # a person re-ran a finished job
        OUTPUT = "output"  # partial output written (a streamed LLM call)

    # No index of its own: jobevent_job_idx (job, id) serves every lookup by job.
    job = models.ForeignKey(
        Job, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    from_status = models.CharField(max_length=16, blank=True, default="")
    to_status = models.CharField(max_length=16, blank=True, default="")
    progress = models.PositiveSmallIntegerField(default=0)
    message = models.TextField(blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    actor = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["job", "id"], name="jobevent_job_idx"),
            # Recent retries (ops counts the last hour's): only retry events, so small.
            models.Index(fields=["created_at"], name="jobevent_retry_created_idx",
                         condition=models.Q(kind="retry_scheduled")),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.from_status}->{self.to_status}"


class JobStep(models.Model):
    """A memoized step result: a retry re-enters the handler and gets it back."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="steps")
    name = models.CharField(max_length=100)
    result = models.JSONField(null=True, blank=True)
    attempt = models.PositiveIntegerField(help_text="The attempt that ran the step")
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "name"], name="unique_job_step"),
        ]

    def __str__(self) -> str:
        return self.name


class RunLog(models.Model):
    """One row per scheduled or batch run (warmups, scans, regenerations)."""

    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCESS = "success"
        FAILED = "failed"
        # Did nothing because another run held its lock: neither a success nor a
        # failure (the run-failed alert looks past it).
        SKIPPED = "skipped"

    MAX_ERRORS = 10

    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL)
    # The fencing token of the attempt that writes this log (its Procrastinate
    # row); its writes change nothing once the job has moved to another attempt.
    attempt_token = models.BigIntegerField(null=True, blank=True)
    job_type = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    processed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    metadata = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["job_type", "-started_at"], name="runlog_type_idx")]

    def __str__(self) -> str:
        return f"{self.job_type} {self.status}"


class LockLease(models.Model):
    """A named lock with a maximum hold time (see `jobs.locks.lease_acquire`).

    Free when its holder's database session is gone (a crashed holder frees
    it at once) or when `expires_at` has passed (a holder past its maximum
    loses it, and finds out at its next `lease_held` check).
    """

    name = models.CharField(max_length=255, primary_key=True)
    holder = models.CharField(max_length=255)
    holder_pid = models.IntegerField()
    acquired_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder}"


class DiagnosticEffect(models.Model):
    """The side effect of a `diagnostic` job run with `{"effect": true}`.

    Written in the transaction that completes the job, so the fault suite can
    count that each job's effect exists exactly once, whatever crashed.
    """

    job = models.OneToOneField(Job, on_delete=models.CASCADE, primary_key=True)
    attempt = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"effect of {self.job_id} (attempt {self.attempt})"


class WorkerIncident(models.Model):
    """How often workers met an error of a job they had lost, and went on.

    A Procrastinate finish refused (the queue row was superseded), a worker
    row pruned while the worker lived (re-registered), a deadlock or
    serialization failure on one job. Counted per kind across all worker
    processes (one upsert each), read by the Prometheus page as counters.
    """

    kind = models.CharField(max_length=64, primary_key=True)
    count = models.BigIntegerField(default=0)
    last_at = models.DateTimeField(null=True, blank=True)
    last_message = models.TextField(blank=True, default="")

    def __str__(self) -> str:
        return f"{self.kind}: {self.count}"
