"""The seed's API contract: POST/GET/list/DELETE /api/report-builder/jobs, documents and
blocks, organization scoping and 400s that name the field, against the real database."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from jobs import registry
from jobs.models import Job
from reports.models import AnalysisJob, Block, Document
from tests.conftest import drain

# Most tests need no worker: a plain (rolled back) database. Those that run one say so.
pytestmark = pytest.mark.django_db
with_worker = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker_queue(clean_queue):
    """A committed database and an emptied queue, for tests that run a real worker."""


def start(api, document, block, type="GENERATE", **extra):
    body = {"documentId": str(document.id), "blockId": str(block.id), "type": type, **extra}
    return api.post("/api/report-builder/jobs", body, format="json")


def test_create_returns_job_id_and_pending_and_links_the_platform_job(api, user, document, block):
    response = start(api, document, block)

    assert response.status_code == 201
    body = response.json()
    assert body == {"jobId": body["jobId"], "status": "PENDING"}
    analysis = AnalysisJob.objects.get(job_id=body["jobId"])
    assert (analysis.block, analysis.document, analysis.type) == (block, document, "GENERATE")
    job = Job.objects.get(id=body["jobId"])
    assert (job.type, job.status, job.scope) == ("report_generate", "pending",
                                                f"document:{document.id}")
    assert job.organization_id == document.organization_id and job.user == user
    # The link row keeps no status of its own: the platform's Job is the only copy.
    assert "status" not in {f.name for f in AnalysisJob._meta.get_fields()}


@with_worker
def test_get_answers_the_seeds_fields_with_statuses_mapped_from_the_platform(
    worker_queue, api, document, block
):
    job_id = start(api, document, block).json()["jobId"]
    pending = api.get(f"/api/report-builder/jobs/{job_id}").json()

    drain()
    done = api.get(f"/api/report-builder/jobs/{job_id}").json()

    assert pending["status"] == "PENDING" and pending["completedAt"] is None
    assert set(done) >= {"id", "type", "status", "result", "error", "createdAt", "completedAt",
                         "blockId", "documentId"}
    assert (done["id"], done["type"], done["status"]) == (job_id, "GENERATE", "COMPLETED")
    assert (done["blockId"], done["documentId"]) == (str(block.id), str(document.id))
    assert done["error"] is None and done["completedAt"] is not None
    assert done["result"]["content"] == Block.objects.get(id=block.id).content


@with_worker
def test_get_supports_etag_and_names_the_types_poll_interval(worker_queue, api, document, block):
    url = f"/api/report-builder/jobs/{start(api, document, block).json()['jobId']}"
    first = api.get(url)
    etag = first["ETag"]

    unchanged = api.get(url, HTTP_IF_NONE_MATCH=etag)
    drain()
    changed = api.get(url, HTTP_IF_NONE_MATCH=etag)

    assert unchanged.status_code == 304 and not unchanged.content
    assert changed.status_code == 200 and changed.json()["status"] == "COMPLETED"
    assert changed["ETag"] != etag
    assert first.json()["pollIntervalMs"] == registry.get("report_generate").poll_interval


def test_the_job_types_are_registered_internal_with_the_configured_interval(api, document,
                                                                            settings):
    for name in ("report_generate", "report_refine", "report_analyze"):
        job_type = registry.get(name)
        assert job_type.public is False
        assert job_type.poll_interval == settings.REPORTS_POLL_INTERVAL_MS
        assert job_type.max_duration == settings.REPORTS_MAX_DURATION_SECONDS
    # Internal: only POST /api/report-builder/jobs creates them.
    refused = api.post("/api/jobs", {"type": "report_generate",
                                     "input": {"document_id": str(document.id),
                                               "type": "GENERATE"}}, format="json")
    assert refused.status_code == 400 and "type" in refused.json()


@with_worker
def test_delete_cancels_a_pending_job_and_changes_nothing(worker_queue, api, document, block):
    job_id = start(api, document, block).json()["jobId"]

    response = api.delete(f"/api/report-builder/jobs/{job_id}")
    drain()

    assert response.status_code == 200
    assert response.json() == {"success": True, "message": "Job cancelled"}
    assert api.get(f"/api/report-builder/jobs/{job_id}").json()["status"] == "CANCELLED"
    block.refresh_from_db()
    assert block.content == "" and not block.revisions.exists()
    again = api.delete(f"/api/report-builder/jobs/{job_id}")
    assert again.status_code == 409 and again.json()["success"] is False


def test_list_filters_by_document_status_and_limit(api, org, document, block):
    other = Document.objects.create(organization=org, title="Other")
    other_block = Block.objects.create(document=other, prompt="x")
    first = start(api, document, block).json()["jobId"]
    second = start(api, other, other_block).json()["jobId"]
    api.delete(f"/api/report-builder/jobs/{first}")

    everything = api.get("/api/report-builder/jobs").json()["jobs"]
    mine = api.get("/api/report-builder/jobs", {"documentId": str(document.id)}).json()["jobs"]
    cancelled = api.get("/api/report-builder/jobs", {"status": "CANCELLED"}).json()["jobs"]
    pending = api.get("/api/report-builder/jobs", {"status": "PENDING"}).json()["jobs"]
    limited = api.get("/api/report-builder/jobs", {"limit": 1}).json()["jobs"]

    assert [j["id"] for j in everything] == [second, first]  # newest first
    assert [j["id"] for j in mine] == [first]
    assert [j["id"] for j in cancelled] == [first]
    assert [j["id"] for j in pending] == [second]
    assert [j["id"] for j in limited] == [second]
    assert set(everything[0]) >= {"id", "type", "status", "result", "error", "createdAt",
                                  "completedAt", "blockId", "documentId"}


@pytest.mark.parametrize(
    "query, field",
    [({"status": "DONE"}, "status"), ({"limit": 0}, "limit"), ({"limit": "many"}, "limit"),
     ({"limit": 201}, "limit"), ({"documentId": "nope"}, "documentId")],
)
def test_list_rejects_bad_filters_naming_the_field(api, query, field):
    response = api.get("/api/report-builder/jobs", query)

    assert response.status_code == 400 and set(response.json()) == {field}


@pytest.mark.parametrize(
    "change, field",
    [
        ({"documentId": None}, "documentId"),
        ({"documentId": "not-a-uuid"}, "documentId"),
        ({"documentId": "5f0c0000-0000-4000-8000-000000000000"}, "documentId"),
        ({"type": "WRITE"}, "type"),
        ({"type": None}, "type"),
        ({"blockId": None}, "blockId"),
        ({"blockId": "5f0c0000-0000-4000-8000-000000000000"}, "blockId"),
        ({"type": "REFINE"}, "prompt"),
        ({"prompt": "x" * 10_001}, "prompt"),
    ],
)
def test_bad_input_is_400_naming_the_field(api, document, block, change, field):
    body = {"documentId": str(document.id), "blockId": str(block.id), "type": "GENERATE",
            **change}
    body = {key: value for key, value in body.items() if value is not None or key == "blockId"}

    response = api.post("/api/report-builder/jobs", body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not AnalysisJob.objects.exists() and not Job.objects.exists()


def test_generate_needs_a_prompt_and_refine_needs_content(api, document):
    empty = Block.objects.create(document=document, prompt="")

    no_prompt = start(api, document, empty)
    no_content = start(api, document, empty, type="REFINE", prompt="Shorter")
    with_prompt = start(api, document, empty, prompt="Write the intro.")

    assert no_prompt.status_code == 400 and "prompt" in no_prompt.json()
    assert no_content.status_code == 400 and "blockId" in no_content.json()
    assert with_prompt.status_code == 201


@with_worker
def test_analyze_needs_no_block(worker_queue, api, document):
    response = api.post("/api/report-builder/jobs",
                        {"documentId": str(document.id), "type": "ANALYZE"}, format="json")

    assert response.status_code == 201
    drain()
    body = api.get(f"/api/report-builder/jobs/{response.json()['jobId']}").json()
    assert body["status"] == "COMPLETED" and body["blockId"] is None
    assert "Pricing confuses 12 users." in body["result"]["content"]


def test_the_platforms_active_job_limit_refuses_with_429(api, document, settings):
    settings.JOBS = {**settings.JOBS, "LIMIT_PER_USER": 2}
    blocks = [Block.objects.create(document=document, prompt=f"p{i}") for i in range(3)]

    answers = [start(api, document, b) for b in blocks]

    assert [a.status_code for a in answers] == [201, 201, 429]
    assert answers[2]["Retry-After"]
    assert AnalysisJob.objects.count() == 2 and Job.objects.count() == 2


def test_another_organizations_documents_and_jobs_are_invisible(api, other_org, make_user):
    stranger_doc = Document.objects.create(organization=other_org, title="Secret")
    stranger_block = Block.objects.create(document=stranger_doc, prompt="x")
    stranger = APIClient()
    stranger.credentials(
        HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=make_user(other_org)).key}")
    job_id = start(stranger, stranger_doc, stranger_block).json()["jobId"]
    doc_url = f"/api/report-builder/documents/{stranger_doc.id}"

    assert api.get(f"/api/report-builder/jobs/{job_id}").status_code == 404
    assert api.delete(f"/api/report-builder/jobs/{job_id}").status_code == 404
    assert api.get(doc_url).status_code == 404
    assert api.patch(doc_url, {"title": "Mine"}, format="json").status_code == 404
    assert api.get(f"{doc_url}/blocks").status_code == 404
    assert api.get(f"{doc_url}/blocks/{stranger_block.id}/revisions").status_code == 404
    assert api.post(f"{doc_url}/blocks", {"prompt": "x"}, format="json").status_code == 404
    refused = start(api, stranger_doc, stranger_block)
    assert refused.status_code == 400 and "documentId" in refused.json()
    assert api.get("/api/report-builder/jobs").json()["jobs"] == []
    assert api.get("/api/report-builder/documents").json()["results"] == []
    assert Job.objects.get(id=job_id).status == "pending"  # untouched by the refused cancel


def test_the_api_needs_authentication(document, block):
    anonymous = APIClient()

    assert anonymous.get("/api/report-builder/jobs").status_code in (401, 403)
    assert anonymous.post("/api/report-builder/jobs", {}, format="json").status_code in (401, 403)
    assert anonymous.get("/api/report-builder/documents").status_code in (401, 403)


def test_documents_blocks_and_context_through_the_api(api):
    doc = api.post("/api/report-builder/documents", {"title": "New", "useReviews": True},
                   format="json")
    assert doc.status_code == 201
    doc_url = f"/api/report-builder/documents/{doc.json()['id']}"
    first = api.post(f"{doc_url}/blocks", {"kind": "PROMPT_RESPONSE", "prompt": "Why?"},
                     format="json")
    second = api.post(f"{doc_url}/blocks", {"kind": "TEXT", "content": "Notes"}, format="json")
    assert first.status_code == 201 and second.status_code == 201
    block_url = f"{doc_url}/blocks/{first.json()['id']}"

    edited = api.patch(block_url, {"content": "Because."}, format="json")
    revisions = api.get(f"{block_url}/revisions").json()
    context = api.post(f"{doc_url}/context", {"kind": "goal", "text": "Grow"}, format="json")
    renamed = api.patch(doc_url, {"title": "Renamed", "useGoals": False}, format="json")
    listed = api.get(f"{doc_url}/blocks").json()

    assert edited.json()["content"] == "Because."
    assert [(r["source"], r["jobId"], r["content"]) for r in revisions] == [
        ("manual", None, "Because.")]
    assert context.status_code == 201 and api.get(f"{doc_url}/context").json()[0]["text"] == "Grow"
    assert renamed.json()["title"] == "Renamed" and renamed.json()["useGoals"] is False
    got = api.get(doc_url).json()
    assert got["useReviews"] is True and [c["kind"] for c in got["contextItems"]] == ["goal"]
    assert [(b["kind"], b["position"]) for b in listed] == [("PROMPT_RESPONSE", 1), ("TEXT", 2)]
    assert api.delete(f"{doc_url}/blocks/{second.json()['id']}").status_code == 204
    assert [b["id"] for b in api.get(f"{doc_url}/blocks").json()] == [first.json()["id"]]
    assert api.delete(doc_url).status_code == 204
    assert api.get(doc_url).status_code == 404


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("", {}, "title"),
        ("", {"title": "x" * 201}, "title"),
        ("", {"title": "T", "useGoals": "perhaps"}, "useGoals"),
        ("/blocks", {"kind": "TABLE"}, "kind"),
        ("/blocks", {"position": -1}, "position"),
        ("/context", {"kind": "rumour", "text": "x"}, "kind"),
        ("/context", {"kind": "goal"}, "text"),
    ],
)
def test_documents_blocks_and_context_reject_bad_input_naming_the_field(api, document, path,
                                                                        body, field):
    url = "/api/report-builder/documents" + (f"/{document.id}{path}" if path else "")

    response = api.post(url, body, format="json")

    assert response.status_code == 400 and field in response.json()


def test_the_schema_documents_the_report_builder_endpoints(api):
    paths = api.get("/api/schema/", {"format": "json"}).json()["paths"]

    jobs = paths["/api/report-builder/jobs"]
    assert set(jobs) >= {"get", "post"}
    assert set(jobs["post"]["responses"]) >= {"201", "400", "409", "429"}
    detail = paths["/api/report-builder/jobs/{job_id}"]
    assert set(detail) >= {"get", "delete"} and "304" in detail["get"]["responses"]
    for path in ("/api/report-builder/documents", "/api/report-builder/documents/{document_id}",
                 "/api/report-builder/documents/{document_id}/blocks",
                 "/api/report-builder/documents/{document_id}/blocks/{block_id}",
                 "/api/report-builder/documents/{document_id}/blocks/{block_id}/revisions",
                 "/api/report-builder/documents/{document_id}/context"):
        assert path in paths
