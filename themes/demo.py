"""Demo data: three dozen interviews of the last four weeks, with quotes.

Seeding again re-dates them (`redate`), so they stay the last four weeks'.

Each topic has a few phrasings that share one keyword and little else, so
a scan (offline, or with a real model) finds one theme per topic; topics
come up with different frequencies, so the roadmap gets a spread of
priorities.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from django.utils import timezone

from themes.models import Interview
from themes.services import interview_create

INTERVIEWS = 36
# topic -> (share of interviews that raise it, phrasings)
TOPICS: dict[str, tuple[float, list[str]]] = {
    "pricing": (0.7, [
        "The pricing page confuses me; I could not tell which plan we needed.",
        "Pricing tiers feel arbitrary compared to competitors.",
        "Our finance lead asked twice about pricing for extra seats.",
    ]),
    "onboarding": (0.45, [
        "Onboarding took our team two weeks.",
        "The onboarding checklist skipped the data import step.",
        "Onboarding videos were helpful but far too long.",
    ]),
    "export": (0.4, [
        "Exporting dashboards to spreadsheets is painful.",
        "We export monthly reports for the board by hand.",
        "CSV exports drop our custom columns.",
    ]),
    "search": (0.25, [
        "Search never finds the interview I remember.",
        "Search results ignore tags entirely.",
        "I wish search understood synonyms and typos.",
    ]),
    "permissions": (0.2, [
        "Permissions are confusing; interns saw salary details.",
        "We need permissions per project, not per workspace.",
    ]),
    "mobile": (0.1, [
        "The mobile app logs me out every morning.",
        "Mobile charts are unreadable on small screens.",
    ]),
}


TITLE = "Customer interview #"


def redate(*, organization: Any, today: dt.date) -> int:
    """Move the demo interviews forward so the newest is dated `today`; the days moved.

    The demo is dated relative to the day it was first seeded; without this a
    checkout a month old has no interviews in a scan's default 30-day
    lookback. Their spacing is kept, and a second call moves nothing.
    """
    demo = list(
        Interview.objects.filter(organization=organization, title__startswith=TITLE)
    )
    newest = max((i.interviewed_at for i in demo), default=None)
    if newest is None or newest >= today:
        return 0
    shift = today - newest
    for item in demo:
        item.interviewed_at += shift
    Interview.objects.bulk_update(demo, ["interviewed_at"])
    return shift.days


def seed(*, organization: Any, user: Any) -> str | None:
    today = timezone.now().date()
    existing = Interview.objects.filter(organization=organization).count()
    if existing >= INTERVIEWS:
        moved = redate(organization=organization, today=today)
        return f"{existing} interviews already there" + (
            f" (moved {moved} days forward, to end today)" if moved else ""
        )
    redate(organization=organization, today=today)
    rng = random.Random(4)
    for n in range(existing, INTERVIEWS):
        quotes = [
            rng.choice(phrasings)
            for share, phrasings in TOPICS.values()
            if rng.random() < share
        ] or [rng.choice(TOPICS["search"][1])]
        interview_create(
            organization=organization,
            title=f"{TITLE}{n + 1}",
            interviewed_at=today - dt.timedelta(days=rng.randint(0, 27)),
            transcript=" ".join(quotes),
            quotes=quotes,
        )
    return (
        f"{INTERVIEWS} interviews with quotes; find their themes with "
        f"`manage.py theme_scan --org {organization.slug}`"
    )
