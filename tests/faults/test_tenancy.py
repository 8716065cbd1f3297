"""Tenancy: every route of the site, tried with another organization's ids.

The routes come from the URL resolver, not a hand-written list, so a route
added later is probed too. Another organization ("Globex") owns one object of
every kind, each named with a marker string; a member of Acme tries every
method on every route with those ids (and with Acme's own parent and Globex's
child for nested routes). Every answer must be 403, 404 or 405 (or the very
400 an id that exists nowhere gets), never contain the marker, and afterwards
Globex's rows must be exactly as they were.
Unauthenticated requests to every API route get 401; non-staff users get no
admin page.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from competitors import services as decisions
from competitors.models import CompetitorProfile, Output
from jobs import lifecycle
from reports.models import Block, Document, Revision
from roadmap.models import RoadmapSuggestion
from roadmap.services import project_create
from tests.faults.conftest import record
from themes.models import Theme
from themes.services import interview_create

pytestmark = pytest.mark.django_db

MARK = "GLOBEX-PRIVATE-7f3a"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# A body valid for most create/update serializers: a refusal must come from
# ownership, not from validation.
BODY = {
    "title": "hijacked", "name": "hijacked", "description": "hijacked", "content": "hijacked",
    "context": "hijacked", "prompt": "hijacked", "text": "hijacked", "kind": "HEADING",
    "position": 1, "company_name": "Hijack", "company_url": "https://example.com",
    "query": "hijacked", "manual_priority_adjustment": "high", "type": "diagnostic",
    "input": {}, "transcript": "hijacked", "interviewed_at": "2026-01-01", "quotes": ["x"],
}
BODIES = [BODY, {**BODY, "kind": "evidence"}, {**BODY, "kind": "PROMPT_RESPONSE"}]
# Routes with no organization's data behind them.
PUBLIC = re.compile(r"^(api/schema/|api/docs/|api/health$|metrics$|demo-site/|favicon\.ico$|$)")
# Global by design (warmup comparisons describe public search terms, not a tenant's data;
# api/markdown renders the text its caller posts, and reads nothing stored).
GLOBAL = re.compile(r"^api/(comparisons|comparison/|markdown$)")
# Shared-secret endpoints: tests/faults/test_hostile_input.py covers them. The event
# stream answers 503 outside the ASGI server (its auth and scoping are tested on a
# real uvicorn in tests/realtime).
SECRET = re.compile(r"^api/(internal/|jobs/warmup-|comparison/warmup|jobs/<uuid:job_id>/events$)")


def routes() -> Iterator[tuple[str, list[str]]]:
    """(route, parameter names) of every non-admin URL pattern."""

    def walk(patterns: list[Any], prefix: str) -> Iterator[tuple[str, list[str]]]:
        for p in patterns:
            route = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                if not route.startswith("admin/"):
                    yield from walk(p.url_patterns, route)
            elif isinstance(p, URLPattern):
                yield route, re.findall(r"<(?:\w+:)?(\w+)>", route)

    yield from walk(get_resolver().url_patterns, "")


def fill(route: str, values: dict[str, Any]) -> str:
    def value(match: re.Match[str]) -> str:
        return str(values[match.group(1)])

    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", value, route)


@pytest.fixture
def globex(other_org: Any, make_user: Any) -> dict[str, Any]:
    owner = make_user(other_org)
    today = timezone.now().date()
    interview = interview_create(organization=other_org, title=MARK, interviewed_at=today,
                                 transcript=MARK, quotes=[MARK])
    theme = Theme.objects.create(organization=other_org, name=MARK, slug="globex-theme",
                                 description=MARK)
    project = project_create(organization=other_org, name=MARK)
    suggestion = RoadmapSuggestion.objects.create(project=project, theme=theme,
                                                  reasoning_text=MARK)
    document = Document.objects.create(organization=other_org, title=MARK)
    block = Block.objects.create(document=document, kind="HEADING", position=1, content=MARK)
    Revision.objects.create(block=block, content=MARK, source="manual")
    decision = decisions.decision_create(organization=other_org, user=owner, title=MARK,
                                         context=MARK)
    option = decisions.option_create(decision=decision, title=MARK, description=MARK)
    profile = CompetitorProfile.objects.create(decision=decision, company_name=MARK,
                                               company_url="https://globex.example",
                                               summary=MARK, generated_at=timezone.now())
    output = Output.objects.create(decision=decision, title=MARK, content=MARK,
                                   generated_at=timezone.now())
    job = lifecycle.job_create(job_type="diagnostic", input={"steps": 1}, organization=other_org,
                               user=owner, decision_id=decision.id,
                               scope=f"document:{document.id}")
    return {
        "owner": owner, "interview": interview, "theme": theme, "project": project,
        "suggestion": suggestion, "document": document, "block": block, "decision": decision,
        "option": option, "profile": profile, "output": output, "job": job,
    }


def ids_for(route: str, objects: dict[str, Any]) -> dict[str, Any]:
    """Values for a route's parameters, taken from `objects` (one organization's)."""
    pk = {
        "api/interviews/": objects["interview"].pk, "api/themes/": objects["theme"].pk,
        "api/roadmap/projects/": objects["project"].pk,
        "api/roadmap/suggestions/": objects["suggestion"].pk,
    }
    values = {
        "job_id": objects["job"].pk, "document_id": objects["document"].pk,
        "block_id": objects["block"].pk, "decision_id": objects["decision"].pk,
        "option_id": objects["option"].pk, "profile_id": objects["profile"].pk,
        "output_id": objects["output"].pk, "project_id": objects["project"].pk,
    }
    for prefix, value in pk.items():
        if route.startswith(prefix):
            values["pk"] = value
    return values


@pytest.fixture
def acme(org: Any, user: Any) -> dict[str, Any]:
    """Acme's own parents, for nested routes probed with Acme's parent and Globex's child."""
    decision = decisions.decision_create(organization=org, user=user, title="Ours", context="")
    document = Document.objects.create(organization=org, title="Ours")
    project = project_create(organization=org, name="Ours")
    return {"decision": decision, "document": document, "project": project}


def same_as_for_nobody(client: Any, method: str, route: str, values: dict[str, Any],
                       body: dict[str, Any], response: Any) -> bool:
    """Whether a 400 is what an id that exists nowhere gets too (validation before the
    ownership check: it tells nothing about the other organization's rows)."""
    if response.status_code != 400:
        return False
    nobody = {**values, **{k: uuid.uuid4() for k in values if k.endswith("_id")}}
    again = client.generic(method, fill(route, nobody), json.dumps(body),
                           content_type="application/json")
    return again.status_code == 400 and again.content == response.content


def snapshot(objects: dict[str, Any]) -> dict[str, Any]:
    """Every Globex row reachable from its objects, as JSON, to compare after the probes."""
    from django.forms.models import model_to_dict

    rows: dict[str, Any] = {}
    for name, obj in objects.items():
        if name == "owner":
            continue
        fresh = type(obj).objects.filter(pk=obj.pk).first()
        rows[name] = None if fresh is None else json.dumps(model_to_dict(fresh), default=str,
                                                           sort_keys=True)
    decision = objects["decision"]
    rows["children"] = [decision.options.count(), decision.competitor_profiles.count(),
                        decision.outputs.count(), objects["document"].blocks.count(),
                        objects["block"].revisions.count(),
                        objects["document"].context_items.count(),
                        objects["project"].suggestions.count()]
    return rows


def test_every_route_with_another_organizations_ids_gives_404_or_403_never_data(
    api, user, globex, acme
):
    before = snapshot(globex)
    page = Client()
    page.force_login(user)
    probes = leaks = 0
    problems: list[str] = []
    for route, params in routes():
        if not params or PUBLIC.match(route) or GLOBAL.match(route) or SECRET.match(route):
            continue
        variants = [ids_for(route, globex)]
        if len(params) > 1:  # Acme's own parent, Globex's child
            ours = ids_for(route, globex | acme)
            variants.append({**variants[0], params[0]: ours[params[0]]})
        for values in variants:
            url = fill(route, values)
            client = api if route.startswith("api/") else page
            for method in METHODS if route.startswith("api/") else ("GET", "POST"):
                for body in BODIES if method in ("POST", "PUT", "PATCH") else BODIES[:1]:
                    response = client.generic(method, url, json.dumps(body),
                                              content_type="application/json")
                    probes += 1
                    content = b"".join(response) if response.streaming else response.content
                    if MARK.encode() in content or (
                        response.status_code not in (403, 404, 405)
                        and not same_as_for_nobody(client, method, route, values, body, response)
                    ):
                        leaks += 1
                        problems.append(f"{method} {url} {body.get('kind')}: "
                                        f"{response.status_code} {content[:160]!r}")
    after = snapshot(globex)
    changed = [name for name in before if before[name] != after[name]]
    record("another organization's ids on every route", did=probes, lost=leaks + len(changed),
           note="403/404/405 and no data; the other organization's rows unchanged")
    assert not problems, "\n".join(problems)
    assert not changed, f"another organization's rows changed: {changed}"
    assert probes > 100


def test_lists_and_pages_never_show_another_organizations_rows(api, user, globex, acme):
    page = Client()
    page.force_login(user)
    seen: list[str] = []
    listed = 0
    for route, params in routes():
        if params or PUBLIC.match(route) or SECRET.match(route):
            continue
        client = api if route.startswith("api/") else page
        response = client.get("/" + route)
        body = b"".join(response) if response.streaming else response.content
        listed += 1
        if MARK.encode() in body:
            seen.append(route)
    record("another organization's rows in lists and pages", did=listed, lost=len(seen))
    assert not seen
    assert listed > 10


def api_routes() -> list[str]:
    dummy = {"pk": 1, "slug": "x"}
    urls = []
    for route, params in routes():
        if not route.startswith("api/") or PUBLIC.match(route) or SECRET.match(route):
            continue
        values = {name: dummy.get(name, uuid.uuid4()) for name in params}
        if route.startswith(("api/interviews/", "api/roadmap/projects/")):
            values["pk"] = uuid.uuid4()
        urls.append(fill(route, values))
    return urls


def test_every_api_route_without_credentials_is_401_json(db):
    client = APIClient()
    wrong = []
    urls = api_routes()
    for url in urls:
        for method in METHODS:
            response = client.generic(method, url, "{}", content_type="application/json")
            # 405 for a method the route lacks says nothing about its data.
            if response.status_code not in (401, 405) or "detail" not in response.json():
                wrong.append(f"{method} {url}: {response.status_code}")
    bad_token = APIClient()
    bad_token.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    for url in urls:
        if bad_token.get(url).status_code != 401:
            wrong.append(f"GET {url} with a wrong token")
    record("API routes without credentials", did=len(urls) * (len(METHODS) + 1),
           lost=len(wrong), note="401 with a JSON body")
    assert not wrong, "\n".join(wrong)
    assert len(urls) > 30


def test_no_admin_page_for_a_non_staff_user(user, globex):
    client = Client()
    client.force_login(user)
    admin_urls = ["/admin/", "/admin/jobs/job/", f"/admin/jobs/job/{globex['job'].pk}/change/",
                  f"/admin/competitors/decision/{globex['decision'].pk}/change/",
                  f"/admin/reports/document/{globex['document'].pk}/change/",
                  f"/admin/themes/interview/{globex['interview'].pk}/change/",
                  "/admin/jobs/runlog/", "/admin/procrastinate/procrastinatejob/", "/ops/"]
    refused = 0
    for url in admin_urls:
        response = client.get(url)
        if url == "/ops/":  # the product's page: its 403 in the shell
            assert response.status_code == 403, url
        else:
            assert response.status_code == 302 and "/login/" in response["Location"], url
        refused += 1
    record("admin pages for a non-staff user", did=len(admin_urls),
           lost=len(admin_urls) - refused)


def test_the_admin_actions_refuse_non_staff_and_leave_the_job(user, globex):
    client = Client()
    client.force_login(user)
    job = globex["job"]
    for action in ("cancel_jobs", "retry_jobs", "delete_selected"):
        response = client.post("/admin/jobs/job/", {"action": action,
                                                   "_selected_action": [job.pk]})
        assert response.status_code == 302 and "/login/" in response["Location"]
    job.refresh_from_db()
    assert job.status == "pending"
    assert dt.datetime.now(dt.UTC) - job.created_at < dt.timedelta(minutes=5)


def test_a_deactivated_organizations_own_member_gets_nothing_on_any_route(globex, other_org):
    """Globex is deactivated; its own member tries every route with Globex's ids."""
    from rest_framework.authtoken.models import Token

    from jobs.models import Job, Organization

    before = snapshot(globex)
    jobs_before = Job.objects.filter(organization=other_org).count()
    Organization.objects.filter(id=other_org.id).update(is_active=False)
    owner = globex["owner"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=owner).key}")
    page = Client()
    page.force_login(owner)
    probes = 0
    problems: list[str] = []
    for route, params in routes():
        if PUBLIC.match(route) or GLOBAL.match(route) or SECRET.match(route):
            continue
        url = fill(route, ids_for(route, globex)) if params else "/" + route
        client = api if route.startswith("api/") else page
        methods = (METHODS if params else ("GET", "POST")) if route.startswith("api/") \
            else ("GET",)
        for method in methods:
            body = {**BODY, "organization_id": str(other_org.id),
                    "organization": str(other_org.id)}
            response = client.generic(method, url, json.dumps(body),
                                      content_type="application/json")
            probes += 1
            content = b"".join(response) if response.streaming else response.content
            # 302: a page that sends a non-staff user to the login.
            refused = response.status_code in (302, 400, 403, 404, 405) if not params else (
                response.status_code in (403, 404, 405)
                or same_as_for_nobody(client, method, route, ids_for(route, globex), body,
                                      response))
            # A list may answer 200, empty of the organization's rows.
            if MARK.encode() in content or not (refused or (
                    method == "GET" and not params and response.status_code == 200)):
                problems.append(f"{method} {url}: {response.status_code} {content[:160]!r}")
    after = snapshot(globex)
    changed = [name for name in before if before[name] != after[name]]
    created = Job.objects.filter(organization=other_org).count() - jobs_before
    record("a deactivated organization's member on every route", did=probes,
           lost=len(problems) + len(changed) + created,
           note="403/404 (400 for a create), no data, nothing written")
    assert not problems, "\n".join(problems)
    assert not changed and created == 0
    assert probes > 100


def test_a_staff_member_with_every_permission_sees_and_acts_on_their_own_rows_only(
    make_user, org, globex
):
    """A careless (or hostile) staff member of Acme who holds every permission but is
    not a superuser: every admin changelist, Globex's change pages, and every action
    of every admin run on Globex's rows."""
    from django.contrib import admin as django_admin
    from django.contrib.auth.models import Permission
    from django.urls import reverse

    from jobs.admin_tenancy import OrganizationScopedMixin
    from jobs.models import Job

    staff = make_user(org, is_staff=True)
    staff.user_permissions.set(Permission.objects.all())
    client = Client()
    client.force_login(staff)
    before = snapshot(globex)
    jobs_before = Job.objects.filter(organization=globex["job"].organization_id).count()
    theirs = {type(obj): obj for name, obj in globex.items() if name != "owner"}
    probes = 0
    problems: list[str] = []
    for model, model_admin in django_admin.site._registry.items():
        if not isinstance(model_admin, OrganizationScopedMixin):
            continue
        meta = model._meta
        changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        listing = client.get(changelist)
        probes += 1
        if listing.status_code != 200 or MARK.encode() in listing.content:
            problems.append(f"changelist {changelist}: {listing.status_code}")
        target = theirs.get(model)
        if target is None:
            continue
        change = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_change",
                                    args=[target.pk]))
        probes += 1
        if change.status_code not in (302, 404) or MARK.encode() in change.content:
            problems.append(f"change page of {meta.model_name}: {change.status_code}")
        for action in model_admin.get_actions(listing.wsgi_request):
            response = client.post(changelist, {"action": action, "post": "yes",
                                                "_selected_action": [str(target.pk)]})
            probes += 1
            if MARK.encode() in response.content:
                problems.append(f"action {action} on {meta.model_name} showed Globex's row")
    after = snapshot(globex)
    changed = [name for name in before if before[name] != after[name]]
    created = Job.objects.filter(organization=globex["job"].organization_id).count() \
        - jobs_before
    record("a staff member with every permission, on another organization's rows",
           did=probes, lost=len(problems) + len(changed) + created,
           note="not in changelists, change pages refused, actions change nothing")
    assert not problems, "\n".join(problems)
    assert not changed, f"another organization's rows changed: {changed}"
    assert created == 0
    assert probes > 20
