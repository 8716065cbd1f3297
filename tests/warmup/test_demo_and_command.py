"""The demo data and the `warmup` management command."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from jobs.models import Job
from tests.conftest import job_status, wait_for
from tests.warmup.conftest import make_comparison
from warmup import demo, names, selectors
from warmup.models import Comparison


@pytest.mark.django_db
def test_the_demo_seeds_three_dozen_comparisons_with_a_year_of_weeks_once(org, user):
    summary = demo.seed(organization=org, user=user)
    again = demo.seed(organization=org, user=user)

    comparisons = list(Comparison.objects.all())
    assert len(comparisons) == 36
    assert {len(c.series_a) for c in comparisons} == {52} == {len(c.series_b) for c in comparisons}
    assert all(c.series_start and c.series_start.weekday() == 0 for c in comparisons)
    assert summary.startswith("36 comparisons (36 new)") and "(0 new)" in again
    # Both warmups have work on a fresh machine, and not everything is picked.
    assert 0 < len(selectors.comparisons_for_forecasts(limit=50)) < 36
    assert 0 < len(selectors.comparisons_for_ai_explanations(limit=30)) < 36


@pytest.mark.django_db(transaction=True)
def test_the_command_queues_a_warmup_and_follows_it_to_the_end(background_worker,
                                                                offline_llm):
    make_comparison("cmd", views=2)
    background_worker()
    out = io.StringIO()

    call_command("warmup", "on-demand", "cmd", stdout=out)

    job = Job.objects.get(type=names.ON_DEMAND)
    assert job.status == "completed" and job.source == "admin"
    assert "100%" in out.getvalue() and '"generated"' in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_the_command_refuses_bad_values_and_a_busy_type(clean_queue):
    with pytest.raises(CommandError, match="limit"):
        call_command("warmup", "forecasts", "--limit", "99", stdout=io.StringIO())
    call_command("warmup", "forecasts", "--no-wait", stdout=io.StringIO())
    with pytest.raises(CommandError, match="already queued"):
        call_command("warmup", "forecasts", "--no-wait", stdout=io.StringIO())
    with pytest.raises(CommandError, match="No comparison"):
        call_command("warmup", "on-demand", "nope", stdout=io.StringIO())
    assert wait_for(lambda: job_status(Job.objects.get().id) == "pending", timeout=1)
