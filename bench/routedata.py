"""Rows behind every list and detail route of the API, `n` of each kind (and
`n` children under each parent), for one organization: the routes benchmark
fills the demo organization with it, and tests/platform/test_query_counts.py
calls it with 2 and with 5 to show that a route's query count does not grow
with its rows (no N+1)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone


def populate(org: Any, user: Any, n: int, *, tag: str = "") -> dict[str, Any]:
    """`n` rows of each kind (jobs, decisions and their children, report
    documents with blocks, context and analysis jobs, interviews, themes,
    audit entries, roadmap suggestions, comparisons) in `org`; returns one of
    each parent for the detail routes."""
    from competitors.models import (
        CompetitorProfile,
        Decision,
        EvidenceItem,
        MarketResearch,
        Option,
        Output,
    )
    from jobs import lifecycle
    from reports.models import AnalysisJob, Block, ContextItem, Document
    from roadmap.models import Project, RoadmapSuggestion
    from themes.models import AuditEntry, Interview, Quote, Theme, ThemeEvidence
    from warmup.models import Comparison

    now = timezone.now()
    jobs = []
    for i in range(n):
        job = lifecycle.job_create(job_type="diagnostic", input={"steps": 1},
                                   organization=org, user=user, enforce_limits=False)
        started = lifecycle.job_start(job.id)
        assert started is not None
        lifecycle.job_progress(job.id, attempt=started.attempts, progress=50, message="Half")
        lifecycle.job_complete(job.id, attempt=started.attempts, output={"i": i})
        jobs.append(job)

    decisions = []
    for i in range(n):
        d = Decision.objects.create(organization=org, title=f"Decision {tag}{i}",
                                    created_by=user)
        decisions.append(d)
        research = None
        for k in range(n):
            Option.objects.create(decision=d, title=f"Option {k}", position=k)
            CompetitorProfile.objects.create(
                decision=d, company_name=f"Rival {k}", company_url=f"https://rival{k}.example",
                generated_at=now)
            research = MarketResearch.objects.create(decision=d, query=f"market {k}",
                                                     generated_at=now)
            EvidenceItem.objects.create(decision=d, market_research=research,
                                        origin=EvidenceItem.Origin.choices[0][0],
                                        title=f"Evidence {k}", position=k)
            Output.objects.create(decision=d, title=f"Brief {k}", content="...",
                                  generated_at=now)

    documents = []
    for i in range(n):
        doc = Document.objects.create(organization=org, title=f"Report {tag}{i}")
        documents.append(doc)
        for k in range(n):
            block = Block.objects.create(document=doc, position=k, prompt=f"Prompt {k}")
            ContextItem.objects.create(document=doc, kind=ContextItem.Kind.choices[0][0],
                                       text=f"Context {k}")
            job = lifecycle.job_create(
                job_type=_report_type(), input={
                    "document_id": str(doc.id), "block_id": str(block.id),
                    "type": "GENERATE", "prompt": "p"},
                organization=org, user=user, enforce_limits=False,
                scope=f"document:{doc.id}")
            AnalysisJob.objects.create(job=job, document=doc, block=block, type="GENERATE",
                                       prompt="p")

    interviews = []
    for i in range(n):
        made = Interview.objects.create(organization=org, title=f"Call {tag}{i}",
                                        interviewed_at=now.date() - dt.timedelta(days=i))
        Quote.objects.create(interview=made, text=f"Quote {i}")
        interviews.append(made)
    themes = []
    for i in range(n):
        theme = Theme.objects.create(organization=org, name=f"Theme {tag}{i}",
                                     slug=f"theme-{tag}{i}", occurrences=i + 1,
                                     confidence_score=0.5, last_detected_at=now)
        themes.append(theme)
        for interview in interviews:
            ThemeEvidence.objects.create(theme=theme, interview=interview,
                                         quote=interview.quotes.first())
        AuditEntry.objects.create(organization=org, job=jobs[i], actor="bench", tool="t",
                                  action="create", entity="theme", entity_id=str(theme.id))

    project = Project.objects.filter(organization=org).order_by("created_at").first()
    if project is None:
        project = Project.objects.create(organization=org, name=f"Project {tag}")
    for i, theme in enumerate(themes):
        RoadmapSuggestion.objects.create(project=project, theme=theme, score=i)

    comparisons = [
        Comparison.objects.create(slug=f"cmp-{tag}{org.slug}-{i}", term_a="a", term_b="b",
                                  series_a=list(range(52)), series_b=list(range(52)),
                                  created_by=user)
        for i in range(n)
    ]
    return {"job": jobs[0], "decision": decisions[0], "document": documents[0],
            "block": documents[0].blocks.first(), "interview": interviews[0],
            "theme": themes[0], "project": project,
            "suggestion": project.suggestions.first(), "comparison": comparisons[0],
            "analysis": documents[0].analysis_jobs.first()}


def _report_type() -> str:
    from reports.models import AnalysisJob
    from reports.services import JOB_TYPES

    return JOB_TYPES[AnalysisJob.Type.GENERATE]
