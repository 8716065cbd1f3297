"""Processing with a real worker: context gathering, Claude through the real SDK (a fake
Anthropic server at the wire), the one-transaction write of content, revision and
completion, and every failure the seed names."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import IntegrityError, connection, transaction

from jobs.models import Job, JobEvent
from reports import services
from reports.models import Block, Revision
from tests.conftest import drain, job_status, wait_for
from tests.fakes.server import anthropic_error

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _queue(clean_queue):
    pass


def start(api, document, block, type="GENERATE", **extra):
    body = {"documentId": str(document.id), "blockId": str(block.id), "type": type, **extra}
    response = api.post("/api/report-builder/jobs", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()["jobId"]


def job_body(api, job_id):
    return api.get(f"/api/report-builder/jobs/{job_id}").json()


def test_generate_writes_content_and_a_revision_naming_the_job(api, document, block):
    job_id = start(api, document, block)

    drain()

    body = job_body(api, job_id)
    assert body["status"] == "COMPLETED"
    block.refresh_from_db()
    assert block.content == body["result"]["content"]
    assert block.content.startswith("[offline] ")  # no key: the offline provider, labelled
    assert "Summarise the problems." in block.content
    assert "Pricing confuses 12 users." in block.content  # evidence is configured
    assert "Support was slow." not in block.content  # reviews are not, for this document
    assert body["result"]["offline"] is True
    revision = Revision.objects.get(block=block)
    assert (str(revision.job_id), revision.content, revision.source) == (job_id, block.content,
                                                                         "job")
    kinds = list(JobEvent.objects.filter(job_id=job_id).values_list("to_status", flat=True))
    assert kinds[-1] == "completed" and "running" in kinds  # PENDING -> PROCESSING -> COMPLETED


def test_the_documents_configuration_chooses_the_context(api, document, block):
    document.use_evidence, document.use_reviews = False, True
    document.save()
    job_id = start(api, document, block)

    drain()

    content = job_body(api, job_id)["result"]["content"]
    assert "Support was slow." in content and "Pricing confuses 12 users." not in content


def test_refine_rewrites_from_feedback_and_analyze_changes_no_content(api, document, block):
    block.content = "Old text."
    block.save()
    refine_id = start(api, document, block, type="REFINE", prompt="Make it shorter")
    drain()
    analyze_id = start(api, document, block, type="ANALYZE", prompt="Which themes?")
    drain()

    block.refresh_from_db()
    assert job_body(api, refine_id)["status"] == "COMPLETED"
    assert "Make it shorter" in block.content and block.content != "Old text."
    analyzed = job_body(api, analyze_id)
    assert analyzed["status"] == "COMPLETED" and "Which themes?" in analyzed["result"]["content"]
    assert block.content == job_body(api, refine_id)["result"]["content"]  # unchanged by ANALYZE
    assert [str(r.job_id) for r in block.revisions.all()] == [refine_id]


def test_claude_writes_the_block_through_the_real_sdk(api, document, block, fake_anthropic):
    block.content = "Draft."
    block.save()
    fake_anthropic.reply = "Customers struggle with pricing."
    job_id = start(api, document, block, type="REFINE", prompt="Name the top problem")

    drain()

    block.refresh_from_db()
    assert block.content == "Customers struggle with pricing."
    sent = fake_anthropic.calls("/v1/messages")[0].json()
    text = sent["messages"][0]["content"]
    assert "Pricing confuses 12 users." in text and "Draft." in text
    assert "Name the top problem" in text
    result = job_body(api, job_id)["result"]
    assert result["offline"] is False and result["provider"] == "anthropic"


def test_anthropic_without_a_key_fails_with_the_seeds_message(api, document, block, settings):
    settings.REPORTS_LLM_PROVIDER = "anthropic"
    job_id = start(api, document, block)

    drain()

    body = job_body(api, job_id)
    assert (body["status"], body["error"]) == ("FAILED", "No Anthropic API key configured")
    block.refresh_from_db()
    assert block.content == "" and not block.revisions.exists()
    assert Job.objects.get(id=job_id).attempts == 1  # not retried


def test_a_provider_error_fails_with_its_message_and_changes_nothing(api, document, block,
                                                                   fake_anthropic):
    fake_anthropic.enqueue(anthropic_error(400, "invalid_request_error", "prompt is too long"))
    job_id = start(api, document, block)

    drain()

    body = job_body(api, job_id)
    assert body["status"] == "FAILED" and "prompt is too long" in body["error"]
    block.refresh_from_db()
    assert block.content == "" and not block.revisions.exists()


def test_a_passing_provider_outage_is_retried_and_writes_once(api, document, block,
                                                            fake_anthropic):
    fake_anthropic.fail_next(529)  # Anthropic's "overloaded": retryable
    fake_anthropic.reply = "Second time lucky."
    job_id = start(api, document, block)

    drain()

    job = Job.objects.get(id=job_id)
    assert (job.status, job.attempts) == ("completed", 2)
    assert [r.content for r in Revision.objects.filter(block=block)] == ["Second time lucky."]


def test_an_empty_answer_is_not_written(api, document, block, fake_anthropic):
    fake_anthropic.reply = "   "
    job_id = start(api, document, block)

    drain()

    body = job_body(api, job_id)
    assert body["status"] == "FAILED" and "no text" in body["error"]
    assert Job.objects.get(id=job_id).attempts == 2  # a parse error is retried once
    block.refresh_from_db()
    assert block.content == "" and not block.revisions.exists()


def test_a_deleted_block_fails_with_block_not_found(api, document, block):
    job_id = start(api, document, block)
    Block.objects.filter(id=block.id).delete()

    drain()

    body = job_body(api, job_id)
    assert (body["status"], body["error"]) == ("FAILED", "Block not found")
    assert body["blockId"] == str(block.id)  # still named, though the block is gone


def test_a_block_deleted_while_claude_answers_fails_and_writes_nothing(
    api, document, block, held_claude, background_worker
):
    job_id = start(api, document, block)
    background_worker()
    assert held_claude.arrived.wait(20)

    Block.objects.filter(id=block.id).delete()
    held_claude.release()

    wait_for(lambda: job_status(job_id) == "failed")
    assert job_body(api, job_id)["error"] == "Block not found"
    assert not Revision.objects.filter(job_id=job_id).exists()


def test_a_block_deleted_just_before_the_completing_write_fails_the_job(
    api, document, block, monkeypatch
):
    # The handler's existence check has passed; the block goes between it and the
    # transaction that completes the job. The job must fail, not complete empty.
    # The delete commits on its own connection, as a person's request would.
    write = services.job_result_write
    deleted = []

    def delete_elsewhere(block_id):
        try:
            deleted.append(Block.objects.filter(id=block_id).delete()[0])
        finally:
            connection.close()

    def delete_then_write(**kwargs):
        other = threading.Thread(target=delete_elsewhere, args=(kwargs["block_id"],))
        other.start()
        other.join(20)
        return write(**kwargs)

    monkeypatch.setattr(services, "job_result_write", delete_then_write)
    job_id = start(api, document, block)

    drain()

    body = job_body(api, job_id)
    assert deleted == [1]  # the hook ran, inside the completion path
    assert (body["status"], body["error"]) == ("FAILED", "Block not found")
    assert body["result"] is None and body["completedAt"] is not None
    job = Job.objects.get(id=job_id)
    assert (job.error_kind, job.attempts) == ("permanent", 1)  # not retried
    assert not Revision.objects.filter(job_id=job_id).exists()
    assert not Block.objects.filter(id=block.id).exists()


def test_delete_stops_a_running_job_and_its_answer_is_not_written(
    api, document, block, held_claude, background_worker
):
    job_id = start(api, document, block)
    background_worker()
    assert held_claude.arrived.wait(20)
    assert job_body(api, job_id)["status"] == "PROCESSING"

    response = api.delete(f"/api/report-builder/jobs/{job_id}")
    held_claude.release()

    assert response.json() == {"success": True, "message": "Job cancelled"}
    wait_for(lambda: job_status(job_id) == "cancelled")
    assert job_body(api, job_id)["status"] == "CANCELLED"
    block.refresh_from_db()
    assert block.content == "" and not block.revisions.exists()


def test_the_result_is_written_once_per_job(api, document, block):
    job_id = start(api, document, block)
    drain()
    job = Job.objects.get(id=job_id)
    block.refresh_from_db()
    first = block.content

    with transaction.atomic():  # a second run of the same job's final write
        wrote = services.job_result_write(job=job, block_id=str(block.id), content="Other text")

    block.refresh_from_db()
    assert wrote is False and block.content == first
    assert block.revisions.count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        Revision.objects.create(block=block, content="x", job=job)  # unique per job


def test_one_job_at_a_time_writes_a_block(api, document, block, held_claude, background_worker):
    first = start(api, document, block)
    second = start(api, document, block, prompt="Another take")
    background_worker(concurrency=2)
    assert held_claude.arrived.wait(20)

    # Two workers' worth of slots, but the block's lock keeps the second job waiting.
    wait_for(lambda: job_status(first) == "running")
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        assert job_status(second) == "pending"
        time.sleep(0.05)
    held_claude.release()

    wait_for(lambda: job_status(second) == "completed")
    block.refresh_from_db()
    revisions = list(block.revisions.order_by("created_at", "id"))
    assert [str(r.job_id) for r in revisions] == [first, second]
    assert block.content == revisions[-1].content == held_claude.text
