"""Report documents, their blocks and revisions, and the analysis jobs that write them.

`AnalysisJob` (table `analysis_jobs`, as the seed names it) links a platform
`Job` to its block and document; the job's status lives only on the `Job`.
"""

from __future__ import annotations

import uuid

from django.db import models


class Document(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "jobs.Organization", on_delete=models.CASCADE, related_name="report_documents"
    )
    title = models.CharField(max_length=200)
    # Which context the AI draws on.
    use_evidence = models.BooleanField(default=True)
    use_goals = models.BooleanField(default=True)
    use_reviews = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class ContextItem(models.Model):
    class Kind(models.TextChoices):
        EVIDENCE = "evidence"
        GOAL = "goal"
        REVIEW = "review"

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="context_items")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.text[:60]}"


class Block(models.Model):
    class Kind(models.TextChoices):
        PROMPT_RESPONSE = "PROMPT_RESPONSE"
        TEXT = "TEXT"
        HEADING = "HEADING"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="blocks")
    kind = models.CharField(max_length=32, choices=Kind.choices, default=Kind.PROMPT_RESPONSE)
    position = models.PositiveIntegerField(default=0)
    prompt = models.TextField(blank=True, default="")
    content = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.position}"


class Revision(models.Model):
    block = models.ForeignKey(Block, on_delete=models.CASCADE, related_name="revisions")
    content = models.TextField()
    # The job that wrote it (unique: a re-run of a job cannot add a second one);
    # null for a person's edit.
    job = models.OneToOneField(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="revision"
    )
    source = models.CharField(max_length=16, default="job")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"revision of {self.block_id} ({self.source})"


class AnalysisJob(models.Model):
    class Type(models.TextChoices):
        GENERATE = "GENERATE"
        REFINE = "REFINE"
        ANALYZE = "ANALYZE"

    job = models.OneToOneField(
        "jobs.Job", primary_key=True, on_delete=models.CASCADE, related_name="analysis"
    )
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="analysis_jobs")
    block = models.ForeignKey(
        Block, null=True, blank=True, on_delete=models.SET_NULL, related_name="analysis_jobs"
    )
    type = models.CharField(max_length=16, choices=Type.choices)
    prompt = models.TextField(blank=True, default="")

    class Meta:
        db_table = "analysis_jobs"
        indexes = [models.Index(fields=["document"], name="analysis_document_idx")]

    def __str__(self) -> str:
        return f"{self.type} {self.job_id}"
