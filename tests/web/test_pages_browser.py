"""Every page as a new member meets it, in Debian's Chromium at a laptop's and a phone's
width: no sideways scrolling, no console errors, the shell on each page, a sign-in of
the product's own, toasts that stay few and closable, model Markdown rendered safely.
Screenshots land in tests/output/screenshots/ (git-ignored) for a reviewer."""

from __future__ import annotations

import re
from typing import Any

import pytest

from competitors.models import Output
from jobs import lifecycle
from jobs.models import Job

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = {"laptop": (1280, 800), "phone": (390, 844)}
OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"


class Console:
    """Every console error and uncaught exception a page reports, and every response of
    4xx/5xx but the page's own (a 404 page answers 404 on purpose)."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("response", self._response)

    def _console(self, message: Any) -> None:
        # Chromium logs every failed load as a console error; loads are judged by
        # _response, which knows the page's own answer from its resources'.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)

    def _response(self, response: Any) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            self.errors.append(f"{response.status} {response.url}")


def visit(page: Any, path: str, name: str, screenshots: Any, *, status: int = 200) -> list[str]:
    """Open `path` at each width; return the problems found (empty: none)."""
    console = Console(page)
    problems = []
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        response = page.goto(path)
        assert response.status == status, (path, response.status)
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate(OVERFLOW)
        if overflow > 0:
            problems.append(f"{path} at {width}px scrolls sideways by {overflow}px")
        page.screenshot(path=str(screenshots / f"{name}-{label}.png"), full_page=True)
        # Every page carries the shell: the product's name links home.
        assert page.locator("header.shell .brand").inner_text() == "Plinth Jobs"
    problems += [f"{path}: console: {e}" for e in console.errors]
    return problems


def test_every_member_page_fits_a_laptop_and_a_phone_without_console_errors(
    page, world, screenshots
):
    decision, document = world["decision"], world["document"]
    pages = {
        "home": "/",
        "decisions": "/decisions/",
        "decision": f"/decisions/{decision.id}",
        "profile": f"/decisions/{decision.id}/competitors/{world['profile'].id}",
        "jobs": "/jobs/",
        "reports": "/report-builder/",
        "editor": f"/report-builder/{document.id}",
    }
    problems = []
    for name, path in pages.items():
        problems += visit(page, path, name, screenshots)
    problems += visit(page, "/no-such-page/", "not-found", screenshots, status=404)
    assert problems == []


def test_staff_pages_fit_and_the_ops_table_fits_its_card(staff_page, world, screenshots):
    for status in ("completed", "failed"):  # activity for the ops tables
        job = lifecycle.job_create(job_type="competitor_analysis",
                                   input={"company_name": "A", "company_url": "https://a.example"},
                                   organization=world["decision"].organization,
                                   decision_id=world["decision"].id)
        Job.objects.filter(id=job.id).update(status=status)
    problems = visit(staff_page, "/ops/", "ops", screenshots)
    assert problems == []
    staff_page.set_viewport_size({"width": 1280, "height": 800})
    staff_page.goto("/ops/")
    fits = staff_page.evaluate("""() => {
        const table = document.querySelector('#types');
        return table.scrollWidth <= table.closest('.card').clientWidth;
    }""")
    assert fits, "the ops 'By job type' table overflows its card at 1280 px"

    # The admin's job list: short ids, the error of failed rows, no sideways scroll.
    failed = world["jobs"]["failed"]
    staff_page.goto("/admin/jobs/job/")
    assert staff_page.evaluate(OVERFLOW) <= 0
    widths = staff_page.evaluate("""() => {
        const table = document.querySelector('#result_list');
        return [table.scrollWidth, table.closest('.results').clientWidth,
                [...table.querySelectorAll('thead th')].map(th => th.offsetWidth)];
    }""")
    assert widths[0] <= widths[1], f"the admin's job list scrolls sideways at 1280 px: {widths}"
    row = staff_page.locator("#result_list tr", has_text=str(failed.id)[:8])
    assert "Failed after 3 retries" in row.inner_text()
    assert str(failed.id) not in row.inner_text()  # the short id only (full id in its title)
    staff_page.screenshot(path=str(screenshots / "admin-jobs-laptop.png"), full_page=True)

    # A failed job's own page: pretty JSON and a Retry button that queues it again.
    staff_page.goto(f"/admin/jobs/job/{failed.id}/change/")
    assert '\n  "steps": 1\n' in staff_page.locator("pre").first.inner_text() + "\n"
    staff_page.screenshot(path=str(screenshots / "admin-job-laptop.png"), full_page=True)
    staff_page.click("#job-actions button[value=retry_jobs]")
    staff_page.wait_for_url(re.compile(r"/admin/jobs/job/$"))
    failed.refresh_from_db()
    assert failed.status == "pending"


def test_a_member_who_is_not_staff_signs_in_at_the_products_page_and_reaches_decisions(
    browser, asgi_server, make_user, org, screenshots
):
    make_user(org, username="mira")  # password "pw", not staff
    context = browser.new_context(base_url=asgi_server.url)
    page = context.new_page()
    assert visit(page, "/accounts/login/", "sign-in", screenshots) == []
    assert page.evaluate(CONTRAST) == []
    assert visit(page, "/no-such-page/", "not-found-anonymous", screenshots, status=404) == []
    assert page.evaluate(CONTRAST) == []  # the shell's "Sign in" reads on the dark bar
    page.set_viewport_size({"width": 1280, "height": 800})
    console = Console(page)

    page.goto("/decisions/")

    page.wait_for_url(re.compile(r"/accounts/login/\?next=/decisions/$"))
    assert page.locator("h1").inner_text() == "Sign in"
    assert "Django administration" not in page.content()
    page.get_by_label("Username").fill("mira")
    page.get_by_label("Password").fill("wrong")
    page.click("#login-form button[type=submit]")
    assert "Could not sign you in" in page.locator("[role=alert]").inner_text()
    page.get_by_label("Password").fill("pw")
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r"/decisions/$"))
    assert page.locator("h1").inner_text() == "Decisions"
    assert page.locator(".shell-org").inner_text() == org.name

    # Sign out (a POST from the user menu) leads back to the sign-in page.
    page.click(".user-menu summary")
    page.click(".user-menu button[type=submit]")
    page.wait_for_url(re.compile(r"/accounts/login/$"))
    page.goto("/")
    page.wait_for_url(re.compile(r"/accounts/login/\?next=/$"))
    assert console.errors == []
    context.close()


def test_six_toasts_leave_three_visible_each_closable(page, world):
    page.goto("/")
    page.evaluate("""() => {
        for (let i = 1; i <= 6; i++) {
          PlinthJobs.toast('Toast ' + i, i === 6 ? 'word '.repeat(200) : 'Message ' + i,
                           i === 6 ? 'error' : 'info', {timeoutMs: 0});
        }
    }""")
    toasts = page.locator("#toasts .toast")
    assert toasts.count() == 3
    assert [t.split("\n")[0] for t in toasts.all_inner_texts()] == ["Toast 4", "Toast 5", "Toast 6"]
    # A long message is clamped: the toast stays narrow and short.
    box = toasts.nth(2).bounding_box()
    assert box["width"] <= 360 and box["height"] < 160, box
    for _ in range(3):
        page.locator("#toasts .toast .toast-close").first.click()
    assert toasts.count() == 0

    # A job's finished toast replaces its "started" one; cancelled shows no check mark.
    page.evaluate("""() => {
        PlinthJobs.toast('Brief started', "We'll notify you", 'info', {jobId: 'j1', icon: 'clock'});
        PlinthJobs.toast('Brief cancelled', 'The job was cancelled.', 'cancelled', {jobId: 'j1'});
    }""")
    assert toasts.count() == 1
    assert toasts.first.locator("use").first.get_attribute("href") == "#i-ban"


def test_a_briefs_markdown_renders_as_headings_and_lists_and_a_script_stays_inert(page, world):
    decision = world["decision"]
    Output.objects.filter(decision=decision).update(content=(
        "# Brief: pricing\n\n## Options\n\n- Self-serve tier\n- Stay sales-led\n\n"
        "<script>window.__pwned = 1</script>\n\n"
        '<img src="x" onerror="window.__pwned = 2">\n\n'
        "[click](javascript:window.__pwned=3)\n"))

    page.goto(f"/decisions/{decision.id}")

    brief = page.locator("#brief-output .brief-content")
    assert brief.locator("h1").inner_text() == "Brief: pricing"
    assert brief.locator("h2").inner_text() == "Options"
    assert brief.locator("li").all_inner_texts() == ["Self-serve tier", "Stay sales-led"]
    assert brief.locator("script, img, [onerror]").count() == 0
    assert brief.locator("a[href^=javascript]").count() == 0
    assert page.evaluate("window.__pwned") is None


def test_the_404_page_carries_the_shell(page, world):
    response = page.goto("/decisions/not-a-decision/")

    assert response.status == 404
    assert page.locator("#error-page h1").inner_text() == "Page not found"
    assert page.locator("header.shell .brand").is_visible()
    assert page.locator("header.shell nav a", has_text="Decisions").is_visible()
    page.click(".user-menu summary")
    assert page.locator(".user-menu button[type=submit]").inner_text() == "Sign out"


def test_the_favicon_is_served(page, world):
    response = page.goto("/favicon.ico")
    assert response.ok and response.headers["content-type"].startswith("image/svg+xml")


def test_the_job_modal_traps_focus_and_escape_sends_it_to_the_background(page, world):
    page.goto(f"/decisions/{world['decision'].id}")
    page.get_by_label("Company name").fill("Acme Corp")
    page.get_by_label("Company website").fill("https://acme.example/")
    page.click("#competitor-form button[type=submit]")
    modal = page.locator("#job-modal")
    modal.wait_for(state="visible")
    # No worker runs: the job is queued, and the modal says so rather than a bare 0%.
    page.wait_for_function("document.querySelector('#job-modal .message').textContent"
                           ".startsWith('Waiting for a worker')")

    inside = "document.querySelector('#job-modal').contains(document.activeElement)"
    assert page.evaluate(inside)
    for _ in range(5):
        page.keyboard.press("Tab")
        assert page.evaluate(inside)
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(inside)
    # Focus is visible: the focused control draws an outline.
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"

    page.keyboard.press("Escape")

    modal.wait_for(state="hidden")
    assert page.locator(".toast", has_text="Competitor analysis started").is_visible()
    assert page.evaluate("document.activeElement.closest('#competitor-form') !== null")


def test_every_input_has_a_label(page, world):
    for path in ("/decisions/", f"/decisions/{world['decision'].id}", "/report-builder/",
                 f"/report-builder/{world['document'].id}"):
        page.goto(path)
        unlabelled = page.evaluate("""() => [...document.querySelectorAll(
            'input:not([type=hidden]), select, textarea')]
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
            .map(el => el.name || el.className)""")
        assert unlabelled == [], (path, unlabelled)


# WCAG 2 contrast of every visible text node against the first opaque background
# behind it: 4.5:1, or 3:1 for large text (24 px, or 18.66 px bold).
CONTRAST = """() => {
  const parse = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  };
  const lum = ({r, g, b}) => {
    const f = (v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let n = el; n; n = n.parentElement) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c && c.a > 0.5) return c;
    }
    return {r: 255, g: 255, b: 255, a: 1};
  };
  const bad = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!node.textContent.trim() || !el.getClientRects().length) continue;
    const s = getComputedStyle(el);
    if (s.visibility === 'hidden' || el.closest('[hidden], .visually-hidden, script')) continue;
    const [hi, lo] = [lum(parse(s.color)), lum(background(el))].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(s.fontSize), bold = parseInt(s.fontWeight, 10) >= 700;
    if (ratio < ((size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5)) {
      bad.push(node.textContent.trim().slice(0, 40) + ': ' + ratio.toFixed(2));
    }
  }
  return bad;
}"""


def test_text_meets_aa_contrast(page, world):
    for path in ("/", "/decisions/", f"/decisions/{world['decision'].id}", "/jobs/",
                 f"/report-builder/{world['document'].id}"):
        page.goto(path)
        page.evaluate("""() => PlinthJobs.toast('Saved', 'A message', 'success', {timeoutMs: 0})""")
        assert page.evaluate(CONTRAST) == [], path
