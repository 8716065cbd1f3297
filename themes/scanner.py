"""The theme scanner: recent interviews -> recurring themes with evidence.

Two parts, each a durable step of the `theme_scan` job:

- `themes_extract`: one LLM call over the interviews' quotes (offline: the
  keyword clustering in `themes.offline`). Its answer, with the ids of the
  interviews it saw, is stored, so a retry does not ask again.
- `themes_apply`: upserts the themes by slug and links their evidence, all
  through the audited `ToolExecutor`, in one transaction. Running it twice
  on the same interviews updates and does not duplicate. The caps keep
  the strongest themes (MAX_THEMES_PER_RUN) and, per theme, the first new
  links while the theme has fewer than MAX_LINKS_PER_THEME in all; what
  they leave out is listed in `skipped` with the reason. A dry run writes
  nothing, not even audit entries.

The job's handler (`themes/handlers/scan.py`, async) awaits `athemes_extract`
on the async LLM client; `theme_scan_run` is the same scan for sync callers
(the demo, a dry run from a shell).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from django.conf import settings
from django.db import transaction
from django.utils.text import slugify

from jobs import aio
from jobs.ai import llm
from jobs.models import Job, Organization
from themes.executor import ToolExecutor
from themes.models import Interview, Quote, ThemeEvidence
from themes.offline import offline_themes
from themes.prompts import SYSTEM, THEMES_SCHEMA, build_prompt
from themes.selectors import interviews_recent

T = TypeVar("T")
Step = Callable[[str, Callable[[], Any]], Any]
Progress = Callable[[int, str], None]


@dataclass
class ScanResult:
    """The seed's `result` body (plus `offline`: whether the offline provider answered)."""

    dry_run: bool
    themes_created: int = 0
    themes_updated: int = 0
    links_created: int = 0
    skipped: list[dict[str, Any]] = field(default_factory=list)
    themes: list[dict[str, Any]] = field(default_factory=list)
    offline: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _extract_request(interviews: list[Interview], job: Job | None) -> dict[str, Any]:
    """The LLM call `themes_extract` makes (sync or async, the same request)."""
    return {
        "prompt": build_prompt(interviews),
        "system": SYSTEM,
        "schema": THEMES_SCHEMA,
        "purpose": "theme-scan",
        "job": job,
        "offline": offline_themes,
        "max_tokens": 4000,
    }


def _extracted(answer: llm.Completion, interviews: list[Interview]) -> dict[str, Any]:
    return {
        "themes": answer.data["themes"],
        "interview_ids": [str(i.id) for i in interviews],
        "offline": answer.offline,
    }


def themes_extract(*, interviews: list[Interview], job: Job | None) -> dict[str, Any]:
    """Ask the LLM for recurring themes; the answer and the interviews it was about."""
    return _extracted(llm.complete(**_extract_request(interviews, job)), interviews)


async def athemes_extract(*, interviews: list[Interview], job: Job | None) -> dict[str, Any]:
    """`themes_extract` on the async LLM client: the wait holds no thread, no connection."""
    request = await aio.db(_extract_request, interviews, job)  # the prompt reads the quotes
    return _extracted(await llm.acomplete(**request), interviews)


def _valid_evidence(
    found: dict[str, Any], interview_ids: set[str], quote_owner: dict[int, str]
) -> tuple[list[dict[str, Any]], int]:
    """The evidence that points at the scanned interviews (deduplicated), and how many did not."""
    valid: list[dict[str, Any]] = []
    seen: set[tuple[str, int | None]] = set()
    invalid = 0
    for item in found.get("evidence") or []:
        interview_id = str(item.get("interview_id", "")).strip().lower()
        quote_id = item.get("quote_id")
        ok = interview_id in interview_ids and (
            quote_id is None or quote_owner.get(quote_id) == interview_id
        )
        if not ok:
            invalid += 1
            continue
        if (interview_id, quote_id) not in seen:
            seen.add((interview_id, quote_id))
            valid.append({"interview_id": interview_id, "quote_id": quote_id})
    return valid, invalid


def _strength(candidate: dict[str, Any]) -> tuple[int, float, str]:
    interviews = len({e["interview_id"] for e in candidate["evidence"]})
    return (-interviews, -float(candidate["confidence_score"]), candidate["slug"])


def themes_apply(
    *,
    organization: Organization,
    extracted: dict[str, Any],
    dry_run: bool,
    job: Job | None = None,
    actor: str = "",
) -> ScanResult:
    """Upsert the extracted themes and their evidence (see the module doc)."""
    result = ScanResult(dry_run=dry_run, offline=bool(extracted.get("offline")))
    max_themes = int(settings.MAX_THEMES_PER_RUN)
    max_links = int(settings.MAX_LINKS_PER_THEME)
    interview_ids = set(extracted["interview_ids"])
    quote_owner = {
        q_id: str(i_id)
        for q_id, i_id in Quote.objects.filter(interview_id__in=interview_ids).values_list(
            "id", "interview_id"
        )
    }

    candidates: list[dict[str, Any]] = []
    slugs: set[str] = set()
    for found in extracted["themes"]:
        name = " ".join(str(found.get("name", "")).split())[:200]
        slug = slugify(name)[:200]
        if not slug:
            result.skipped.append({"name": name, "reason": "The name has no usable slug"})
            continue
        if slug in slugs:
            result.skipped.append(
                {"name": name, "slug": slug, "reason": "Duplicate of a theme earlier in this run"}
            )
            continue
        evidence, invalid = _valid_evidence(found, interview_ids, quote_owner)
        if not evidence:
            result.skipped.append(
                {"name": name, "slug": slug,
                 "reason": "No evidence among the scanned interviews"}
            )
            continue
        slugs.add(slug)
        if invalid:
            result.skipped.append(
                {"name": name, "slug": slug, "links_dropped": invalid,
                 "reason": "Evidence citing interviews or quotes outside this scan"}
            )
        candidates.append(
            {
                "name": name,
                "slug": slug,
                "description": str(found.get("description") or ""),
                "confidence_score": round(float(found["confidence_score"]), 4),
                "evidence": evidence,
            }
        )

    # The strongest themes first, so the cap keeps them.
    candidates.sort(key=_strength)
    for dropped in candidates[max_themes:]:
        result.skipped.append(
            {"name": dropped["name"], "slug": dropped["slug"],
             "reason": f"MAX_THEMES_PER_RUN ({max_themes}) reached"}
        )

    actor = actor or (f"job:{job.id}" if job else "system")
    executor = ToolExecutor(organization=organization, actor=actor, dry_run=dry_run, job=job)
    with transaction.atomic():
        for candidate in candidates[:max_themes]:
            _apply_one(candidate, executor=executor, result=result, max_links=max_links)
    return result


def _apply_one(
    candidate: dict[str, Any], *, executor: ToolExecutor, result: ScanResult, max_links: int
) -> None:
    slug = candidate["slug"]
    theme, action = executor.theme_upsert(
        slug=slug,
        name=candidate["name"],
        description=candidate["description"],
        confidence=candidate["confidence_score"],
    )
    # MAX_LINKS_PER_THEME bounds the theme's links, not one run's: what is
    # linked already is left out first, then only the room left is used.
    # (The upsert locked the theme row, so the count holds until commit.)
    links = (
        theme.evidence.all() if theme is not None
        # a dry run: the theme may exist already
        else ThemeEvidence.objects.filter(theme__organization=executor.organization,
                                          theme__slug=slug)
    )
    linked = {(str(i), q) for i, q in links.values_list("interview_id", "quote_id")}
    evidence = [
        e for e in candidate["evidence"] if (e["interview_id"], e["quote_id"]) not in linked
    ]
    room = max(0, max_links - len(linked))
    if len(evidence) > room:
        result.skipped.append(
            {"name": candidate["name"], "slug": slug,
             "links_dropped": len(evidence) - room,
             "reason": f"MAX_LINKS_PER_THEME ({max_links}) reached"}
        )
        evidence = evidence[:room]
    for item in evidence:
        if executor.evidence_link(
            theme=theme, slug=slug, interview_id=item["interview_id"], quote_id=item["quote_id"]
        ):
            result.links_created += 1
    if theme is not None:
        occurrences = executor.occurrences_refresh(theme=theme)
    else:  # a dry run: the interviews it already has and the ones it would get
        occurrences = len({i for i, _ in linked} | {e["interview_id"] for e in evidence})
    if action in ("created", "would_create"):
        result.themes_created += 1
    else:
        result.themes_updated += 1
    result.themes.append(
        {
            "name": candidate["name"],
            "slug": slug,
            "confidence_score": candidate["confidence_score"],
            "occurrences": occurrences,
            "action": action,
        }
    )


def nothing_to_scan(dry_run: bool, lookback_days: int) -> ScanResult:
    result = ScanResult(dry_run=dry_run)
    result.skipped.append({"reason": f"No interviews in the last {lookback_days} days"})
    return result


def looking_message(interviews: list[Interview]) -> str:
    return f"Looking for themes in {len(interviews)} interviews..."


def saving_message(extracted: dict[str, Any], dry_run: bool) -> str:
    count = len(extracted["themes"])
    return f"Saving {count} themes..." if not dry_run else f"Checking {count} themes (dry run)..."


def _run_now(name: str, fn: Callable[[], T]) -> T:
    return fn()


def _no_progress(percent: int, message: str) -> None:
    return None


def theme_scan_run(
    *,
    organization: Organization,
    lookback_days: int = 30,
    max_interviews: int = 50,
    dry_run: bool = False,
    job: Job | None = None,
    actor: str = "",
    step: Step = _run_now,
    progress: Progress = _no_progress,
) -> ScanResult:
    """Scan the organization's recent interviews. `step` makes the parts durable in a job."""
    interviews = interviews_recent(
        organization=organization, lookback_days=lookback_days, max_interviews=max_interviews
    )
    if not interviews:
        return nothing_to_scan(dry_run, lookback_days)
    progress(15, looking_message(interviews))
    extracted = step(
        "extract-themes", lambda: themes_extract(interviews=interviews, job=job)
    )
    progress(70, saving_message(extracted, dry_run))
    applied = step(
        "apply-themes",
        lambda: themes_apply(
            organization=organization, extracted=extracted, dry_run=dry_run, job=job,
            actor=actor,
        ).as_dict(),
    )
    return ScanResult(**applied)
