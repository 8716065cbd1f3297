"""Demo data for `make run`: a report document with context and a prompt block."""

from __future__ import annotations

from typing import Any

from reports import services
from reports.models import Document

TITLE = "Q3 product review"
CONTEXT = [
    ("evidence", "12 of 30 interviewed customers found the pricing page confusing."),
    ("evidence", "Onboarding takes 9 days on average; the target is 3."),
    ("goal", "Cut time-to-value for new teams in half this quarter."),
    ("review", "\"Setup was painful but support was great.\" (G2, 4 stars)"),
]


def seed(*, organization: Any, user: Any) -> str | None:
    """Idempotent: a second run finds the document and adds nothing."""
    document = Document.objects.filter(organization=organization, title=TITLE).first()
    if document is None:
        document = services.document_create(
            organization=organization, title=TITLE,
            use_evidence=True, use_goals=True, use_reviews=True,
        )
        for kind, text in CONTEXT:
            services.context_item_create(document=document, kind=kind, text=text)
        services.block_create(document=document, kind="HEADING", position=1,
                              content="Where customers struggle")
        services.block_create(
            document=document, kind="PROMPT_RESPONSE", position=2,
            prompt="Summarise the top two problems customers report, with evidence.",
        )
    return f"report document {document.title!r} with a prompt block: /report-builder/{document.id}"
