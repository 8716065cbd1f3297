"""What every page's shell shows: the product, the member's organization, their menu."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from jobs import selectors

PRODUCT_NAME = "Plinth Jobs"


def shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)

    def organization() -> Any:
        if user is None or not user.is_authenticated:
            return None
        return selectors.default_organization(user)

    # Lazy: a page that never shows the shell (the admin, the API) costs no query.
    return {"product_name": PRODUCT_NAME, "shell_organization": SimpleLazyObject(organization),
            "shell_section": section(request.path)}


SECTIONS = [("/decisions", "decisions"), ("/jobs", "jobs"), ("/report-builder", "reports"),
            ("/ops", "ops")]


def section(path: str) -> str:
    """Which item of the main navigation the page belongs to."""
    if path == "/":
        return "home"
    return next((name for prefix, name in SECTIONS if path.startswith(prefix)), "")
