"""Reads: the report builder's documents a user may see (their active organizations')."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from jobs import selectors as job_selectors
from reports.models import Document


def documents_for(user: Any) -> QuerySet[Document]:
    return Document.objects.filter(organization__in=job_selectors.organizations_for_user(user))


def document_for(user: Any, document_id: Any) -> Document:
    document = documents_for(user).filter(id=document_id).first()
    if document is None:
        raise Http404("No such document.")
    return document
