"""Every write of the report builder (views, the API, the handler and the demo call these)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from jobs import lifecycle
from jobs.errors import PermanentJobError
from jobs.models import Job, JobStatus, Organization
from reports.models import AnalysisJob, Block, ContextItem, Document, Revision

JOB_TYPES = {
    AnalysisJob.Type.GENERATE: "report_generate",
    AnalysisJob.Type.REFINE: "report_refine",
    AnalysisJob.Type.ANALYZE: "report_analyze",
}

# The seed's statuses, from the platform's (the only copy of a job's status).
STATUS_NAMES: dict[str, str] = {
    JobStatus.PENDING: "PENDING",
    JobStatus.RUNNING: "PROCESSING",
    JobStatus.COMPLETED: "COMPLETED",
    JobStatus.FAILED: "FAILED",
    JobStatus.CANCELLED: "CANCELLED",
}
STATUS_FROM_NAME = {name: status for status, name in STATUS_NAMES.items()}


def analysis_job_create(
    *, document: Document, block: Block | None, type: str, prompt: str, user: Any
) -> AnalysisJob:
    """The platform job, its queue entry and its link row, in one transaction.

    Raises the platform's AdmissionRefused (429) or JobAlreadyQueued (409);
    then nothing is written.
    """
    job_type = JOB_TYPES[AnalysisJob.Type(type)]
    job_input = {
        "document_id": str(document.id),
        "block_id": str(block.id) if block else None,
        "type": type,
        "prompt": prompt,
    }
    with transaction.atomic():
        job = lifecycle.job_create(  # validates the input (InvalidJobInput)
            job_type=job_type,
            input=job_input,
            organization=document.organization,
            user=user,
            scope=f"document:{document.id}",
        )
        return AnalysisJob.objects.create(
            job=job, document=document, block=block, type=type, prompt=prompt
        )


def document_create(
    *, organization: Organization, title: str, use_evidence: bool = True,
    use_goals: bool = True, use_reviews: bool = False,
) -> Document:
    return Document.objects.create(
        organization=organization, title=title, use_evidence=use_evidence,
        use_goals=use_goals, use_reviews=use_reviews,
    )


def document_update(*, document: Document, **fields: Any) -> Document:
    for key, value in fields.items():
        setattr(document, key, value)
    document.save()
    return document


def document_delete(*, document: Document) -> None:
    # Its blocks, revisions, context and job links go with it; the platform's
    # jobs stay (their history), and a running one fails with "Document not found".
    document.delete()


def context_item_create(*, document: Document, kind: str, text: str) -> ContextItem:
    return ContextItem.objects.create(document=document, kind=kind, text=text)


def block_create(*, document: Document, **fields: Any) -> Block:
    with transaction.atomic():
        if "position" not in fields:
            # Locks the document row, so two blocks added at once get distinct positions.
            Document.objects.select_for_update().filter(id=document.id).first()
            last = document.blocks.order_by("-position").values_list("position", flat=True).first()
            fields["position"] = (last or 0) + 1
        return Block.objects.create(document=document, **fields)


def block_update(*, block: Block, **fields: Any) -> Block:
    """A person's edit: a change of content is kept as a revision too."""
    with transaction.atomic():
        content_changed = "content" in fields and fields["content"] != block.content
        for key, value in fields.items():
            setattr(block, key, value)
        block.save()
        if content_changed:
            Revision.objects.create(block=block, content=block.content, source="manual")
    return block


def block_delete(*, block: Block) -> None:
    # A job still working on it ends FAILED "Block not found" and writes nothing.
    block.delete()


def job_result_write(*, job: Job, block_id: str, content: str) -> bool:
    """The block's new content and its revision naming the job; idempotent per job.

    Runs inside the transaction that completes the job (JobContext.on_complete).
    A second run for the same job (a rescued worker, a re-delivered task) finds
    its revision and writes nothing; `Revision.job` is unique, so even a race
    cannot leave two. Returns whether it wrote.

    A block deleted after the handler's own check (between it and this
    transaction) fails the job, "Block not found" as the seed says, instead of
    letting it complete having written nothing: the error rolls the completion
    back and the platform fails the job (with its failure hooks) as it would
    for an error of the handler.
    """
    block = Block.objects.select_for_update().filter(id=block_id).first()
    if block is None:
        raise PermanentJobError("Block not found")
    if Revision.objects.filter(job=job).exists():
        return False
    block.content = content
    block.save(update_fields=["content", "updated_at"])
    Revision.objects.create(block=block, content=content, job=job, source="job")
    return True
