"""Demo data: a decision with options, ready for every job type."""

from __future__ import annotations

from typing import Any

from competitors import services
from competitors.models import Decision


def seed(*, organization: Any, user: Any) -> str | None:
    decision = Decision.objects.filter(
        organization=organization, title="Launch a self-serve analytics tier?"
    ).first()
    if decision is None:
        decision = services.decision_create(
            organization=organization,
            user=user,
            title="Launch a self-serve analytics tier?",
            context=(
                "Small product teams ask for analytics they can set up without a data team. "
                "Demand grew 30% this year, but onboarding is slow and pricing confuses buyers. "
                "Competitors sell self-serve plans from $49 per month."
            ),
        )
        for title, description in [
            ("Self-serve tier at $39/month", "Fast onboarding in a day; easy setup for small "
             "teams; growth through word of mouth."),
            ("Partner with an analytics vendor", "Resell a leader's product; slow to adapt and "
             "a risk to margins."),
            ("Keep sales-led plans only", "No new tier; churn risk as small teams leave."),
        ]:
            services.option_create(decision=decision, title=title, description=description)
    return (
        f"decision {decision.title!r}: /decisions/{decision.id} (analyse the demo competitor "
        "http://127.0.0.1:8000/demo-site/northwind/ with "
        "COMPETITORS_SCRAPE_ALLOW_PRIVATE_HOSTS=127.0.0.1)"
    )
