"""The tool executor: the only way the theme scanner writes.

Each tool (`theme_upsert`, `evidence_link`, `occurrences_refresh`) first
works out the change it would make, as a `Change` (before, after, and a
function that applies it). `ToolExecutor.execute` is the one place a change
is applied, and it records an `AuditEntry` in the same transaction; in a dry
run it applies nothing and records nothing, and the tool reports what it
would have done.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.utils import timezone

from jobs.models import Job, Organization
from themes.models import AuditEntry, Theme, ThemeEvidence


@dataclass
class Change:
    tool: str
    action: str  # create / update / link
    entity: str
    before: dict[str, Any] | None
    after: dict[str, Any]
    apply: Callable[[], models.Model]


@dataclass
class ToolExecutor:
    organization: Organization
    actor: str
    dry_run: bool
    job: Job | None = None
    # What a dry run would have done (for inspection; nothing is stored).
    planned: list[Change] = field(default_factory=list)
    now: dt.datetime = field(default_factory=timezone.now)

    def execute(self, change: Change) -> models.Model | None:
        """Apply `change` and audit it; in a dry run, only remember it."""
        if self.dry_run:
            self.planned.append(change)
            return None
        row = change.apply()
        AuditEntry.objects.create(
            organization=self.organization,
            job=self.job,
            actor=self.actor,
            tool=change.tool,
            action=change.action,
            entity=change.entity,
            entity_id=str(row.pk),
            before=change.before,
            after=change.after,
        )
        return row

    # -- tools ---------------------------------------------------------------

    def theme_upsert(
        self, *, slug: str, name: str, description: str, confidence: float
    ) -> tuple[Theme | None, str]:
        """Create or update the theme with `slug`; returns it (None in a dry run) and the action."""
        existing = (
            Theme.objects.select_for_update()
            .filter(organization=self.organization, slug=slug)
            .first()
        )
        after = {"name": name, "description": description, "confidence_score": confidence}
        if existing is None:

            def create() -> Theme:
                return Theme.objects.create(
                    organization=self.organization,
                    slug=slug,
                    last_detected_at=self.now,
                    **after,
                )

            theme = self.execute(
                Change("theme_upsert", "create", "theme", None, {"slug": slug, **after}, create)
            )
            return theme, "would_create" if self.dry_run else "created"  # type: ignore[return-value]

        before = {
            "name": existing.name,
            "description": existing.description,
            "confidence_score": existing.confidence_score,
            "last_detected_at": _iso(existing.last_detected_at),
        }

        def update() -> Theme:
            for key, value in after.items():
                setattr(existing, key, value)
            existing.last_detected_at = self.now
            existing.save()
            return existing

        self.execute(
            Change(
                "theme_upsert",
                "update",
                "theme",
                before,
                {**after, "last_detected_at": _iso(self.now)},
                update,
            )
        )
        return (None if self.dry_run else existing), "would_update" if self.dry_run else "updated"

    def evidence_link(
        self, *, theme: Theme | None, slug: str, interview_id: str, quote_id: int | None
    ) -> bool:
        """Link the theme to an interview (and quote) unless linked; True if (it would be) new."""
        if theme is None:  # a dry run: the theme may exist already
            theme = Theme.objects.filter(organization=self.organization, slug=slug).first()
        if theme is not None and ThemeEvidence.objects.filter(
            theme=theme, interview_id=interview_id,
            quote_id=quote_id,  # type: ignore[misc]  # None: IS NULL, as Django does
        ).exists():
            return False
        target = theme

        def link() -> ThemeEvidence:
            assert target is not None
            return ThemeEvidence.objects.create(
                theme=target, interview_id=interview_id, quote_id=quote_id
            )

        self.execute(
            Change(
                "evidence_link",
                "link",
                "theme_evidence",
                None,
                {"theme": slug, "interview": interview_id, "quote": quote_id},
                link,
            )
        )
        return True

    def occurrences_refresh(self, *, theme: Theme) -> int:
        """Occurrences = the distinct interviews linked to the theme."""
        count = theme.evidence.values("interview_id").distinct().count()
        if count != theme.occurrences:
            before = theme.occurrences

            def update() -> Theme:
                Theme.objects.filter(pk=theme.pk).update(occurrences=count)
                theme.occurrences = count
                return theme

            self.execute(
                Change(
                    "occurrences_refresh",
                    "update",
                    "theme",
                    {"occurrences": before},
                    {"occurrences": count},
                    update,
                )
            )
        return count


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None
