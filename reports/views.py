"""The report builder's pages: server-rendered; the editor's script talks to the API."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_POST

from jobs import selectors
from jobs.models import JobStatus
from reports import services
from reports.api import poll_interval_ms
from reports.forms import BlockForm, ContextItemForm, DocumentForm
from reports.models import AnalysisJob, Document
from reports.selectors import document_for, documents_for

# Both editor forms have a `kind` field: distinct element ids for their labels.
BLOCK_IDS = "block_%s"
CONTEXT_IDS = "context_%s"


@login_required
def document_list(request: HttpRequest) -> HttpResponse:
    form = DocumentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        organization = selectors.default_organization(request.user)
        if organization is None:
            form.add_error(None, "You belong to no organization.")
        else:
            document = services.document_create(organization=organization, **form.cleaned_data)
            return redirect("report-editor", document_id=document.id)
    return render(request, "reports/document_list.html", {
        "documents": documents_for(request.user).order_by("title"),
        "form": form,
    }, status=400 if form.errors else 200)


def _editor_context(request: HttpRequest, document: Document, **forms: Any) -> dict[str, Any]:
    blocks = list(
        document.blocks.prefetch_related("revisions__job__analysis")
        .order_by("position", "created_at")
    )
    # A job still running when the page loads (a reload, a second tab): the page follows it.
    active: dict[Any, AnalysisJob] = {}
    for analysis in (
        AnalysisJob.objects.select_related("job")
        .filter(document=document, job__status__in=[JobStatus.PENDING, JobStatus.RUNNING])
        .order_by("job__created_at")
    ):
        active[analysis.block_id] = analysis
    for block in blocks:
        block.active_job = active.get(block.id)  # type: ignore[attr-defined]  # for the template
    return {
        "document": document,
        "blocks": blocks,
        "context_items": document.context_items.all(),
        "poll_interval_ms": poll_interval_ms(services.JOB_TYPES[AnalysisJob.Type.GENERATE]),
        "block_form": forms.get("block_form") or BlockForm(auto_id=BLOCK_IDS),
        "context_form": forms.get("context_form") or ContextItemForm(auto_id=CONTEXT_IDS),
    }


@login_required
@ensure_csrf_cookie
def editor(request: HttpRequest, document_id: str) -> HttpResponse:
    document = document_for(request.user, document_id)
    return render(request, "reports/editor.html", _editor_context(request, document))


@login_required
@require_POST
def block_add(request: HttpRequest, document_id: str) -> HttpResponse:
    document = document_for(request.user, document_id)
    form = BlockForm(request.POST, auto_id=BLOCK_IDS)
    if not form.is_valid():
        return render(request, "reports/editor.html",
                      _editor_context(request, document, block_form=form), status=400)
    data = form.cleaned_data
    services.block_create(document=document, kind=data["kind"], prompt=data["prompt"].strip(),
                          content=data["content"])
    return redirect("report-editor", document_id=document.id)


@login_required
@require_POST
def context_add(request: HttpRequest, document_id: str) -> HttpResponse:
    document = document_for(request.user, document_id)
    form = ContextItemForm(request.POST, auto_id=CONTEXT_IDS)
    if not form.is_valid():
        return render(request, "reports/editor.html",
                      _editor_context(request, document, context_form=form), status=400)
    services.context_item_create(document=document, **form.cleaned_data)
    return redirect("report-editor", document_id=document.id)
