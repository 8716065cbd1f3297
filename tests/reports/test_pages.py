"""The server-rendered pages (no browser): access, the forms, what the editor is given,
and the demo data."""

from __future__ import annotations

import pytest
from django.test import Client

from reports import demo, services
from reports.models import AnalysisJob, Block, ContextItem, Document

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_pages_need_a_login(document):
    anonymous = Client()

    for url in ("/report-builder/", f"/report-builder/{document.id}"):
        response = anonymous.get(url)
        assert response.status_code == 302 and "login" in response["Location"]
    assert anonymous.post(f"/report-builder/{document.id}/blocks",
                          {"kind": "TEXT"}).status_code == 302
    assert not document.blocks.exists()


def test_another_organizations_document_is_not_found(client, other_org):
    secret = Document.objects.create(organization=other_org, title="Secret")

    assert client.get(f"/report-builder/{secret.id}").status_code == 404
    assert client.post(f"/report-builder/{secret.id}/blocks",
                       {"kind": "PROMPT_RESPONSE", "prompt": "x"}).status_code == 404
    assert client.post(f"/report-builder/{secret.id}/context",
                       {"kind": "goal", "text": "x"}).status_code == 404
    assert "Secret" not in client.get("/report-builder/").content.decode()
    assert not secret.blocks.exists() and not secret.context_items.exists()


def test_a_document_is_created_from_the_list_page(client, org):
    response = client.post("/report-builder/", {"title": "Launch report", "use_goals": "on"})

    document = Document.objects.get(title="Launch report")
    assert response.status_code == 302 and response["Location"] == f"/report-builder/{document.id}"
    assert document.organization == org
    assert (document.use_evidence, document.use_goals, document.use_reviews) == (False, True, False)
    assert "Launch report" in client.get("/report-builder/").content.decode()


def test_a_document_needs_a_title(client):
    response = client.post("/report-builder/", {"title": ""})

    assert response.status_code == 400 and "This field is required" in response.content.decode()
    assert not Document.objects.exists()


def test_blocks_and_context_are_added_from_the_editor(client, document, block):
    added = client.post(f"/report-builder/{document.id}/blocks",
                        {"kind": "PROMPT_RESPONSE", "prompt": "  List the risks.  "})
    context = client.post(f"/report-builder/{document.id}/context",
                          {"kind": "goal", "text": "Ship in May."})

    assert added.status_code == 302 and context.status_code == 302
    new = document.blocks.get(prompt="List the risks.")
    assert new.position == block.position + 1 and new.kind == "PROMPT_RESPONSE"
    assert ContextItem.objects.filter(document=document, kind="goal", text="Ship in May.").exists()
    html = client.get(f"/report-builder/{document.id}").content.decode()
    assert "List the risks." in html and "Ship in May." in html


@pytest.mark.parametrize(
    "path, data, error",
    [
        ("blocks", {"kind": "PROMPT_RESPONSE", "prompt": " "}, "A prompt block needs a prompt."),
        ("blocks", {"kind": "TABLE"}, "Select a valid choice"),
        ("context", {"kind": "goal", "text": ""}, "This field is required"),
    ],
)
def test_the_editors_forms_reject_bad_input(client, document, block, path, data, error):
    response = client.post(f"/report-builder/{document.id}/{path}", data)

    assert response.status_code == 400 and error in response.content.decode()
    assert document.blocks.count() == 1 and document.context_items.count() == 2


def test_the_editor_renders_prompt_blocks_with_their_actions_and_history(client, document, block,
                                                                         settings):
    services.block_update(block=block, content="Hand-written.")

    html = client.get(f"/report-builder/{document.id}").content.decode()

    assert f'data-block-id="{block.id}"' in html and 'data-kind="PROMPT_RESPONSE"' in html
    for action in ('class="primary generate"', 'class="refine"', 'class="analyze"',
                   'class="cancel" hidden'):
        assert action in html
    assert f'data-poll-ms="{settings.REPORTS_POLL_INTERVAL_MS}"' in html
    assert '<span class="revision-count">1</span>' in html and "Manual edit" in html
    assert "jobs/jobpoll.js" in html and "reports/editor.js" in html
    assert "data-active-job-id" not in html


def test_the_editor_follows_a_job_still_running_on_load(client, document, block, user):
    analysis = services.analysis_job_create(document=document, block=block, type="REFINE",
                                            prompt="Shorter", user=user)

    html = client.get(f"/report-builder/{document.id}").content.decode()

    assert f'data-active-job-id="{analysis.job_id}"' in html
    assert 'data-active-job-type="REFINE"' in html


def test_the_demo_seeds_a_document_with_a_prompt_block_once(org, user):
    first = demo.seed(organization=org, user=user)
    second = demo.seed(organization=org, user=user)

    document = Document.objects.get(organization=org)
    assert first == second and f"/report-builder/{document.id}" in first
    prompt_blocks = document.blocks.filter(kind=Block.Kind.PROMPT_RESPONSE)
    assert prompt_blocks.count() == 1 and prompt_blocks.get().prompt
    assert document.context_items.count() == 4 and not AnalysisJob.objects.exists()
