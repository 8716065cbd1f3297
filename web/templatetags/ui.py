"""The shell's template helpers: icons, status words, and Markdown from a model made
safe (rendered by markdown-it-py, then sanitized by nh3)."""

from __future__ import annotations

import re
from typing import Any

import nh3
from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

register = template.Library()

# CommonMark with tables and strikethrough; raw HTML in the source stays text
# ("html": False), and nh3 then keeps only the tags below whatever the renderer made.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
    ["table", "strikethrough"])
ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "strong", "em",
    "del", "code", "pre", "blockquote", "a", "table", "thead", "tbody", "tr", "th", "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"style"}, "td": {"style"}, "ol": {"start"}}
OFFLINE_MARK = re.compile(r"^\s*\[offline\]\s*")

STATUS_LABELS = {
    "pending": "Queued", "running": "Running", "completed": "Done", "failed": "Failed",
    "cancelled": "Cancelled",
    # The report builder's own words for the same states.
    "processing": "Running",
}


def render_markdown(text: str) -> str:
    html = _markdown.render(text or "")
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener nofollow")


@register.filter(name="markdown")
def markdown_filter(text: Any) -> SafeString:
    """Model output as HTML: headings, lists, emphasis; never a script or a handler."""
    return mark_safe(render_markdown(without_offline_mark(text)))  # noqa: S308 (sanitized by nh3)


@register.filter
def without_offline_mark(text: Any) -> str:
    """The offline provider prefixes its text with "[offline]"; pages show a badge instead."""
    return OFFLINE_MARK.sub("", str(text or ""), count=1)


@register.filter
def is_offline_text(text: Any) -> bool:
    return bool(OFFLINE_MARK.match(str(text or "")))


@register.filter
def status_label(status: Any) -> str:
    return STATUS_LABELS.get(str(status or "").lower(), str(status or "").capitalize())


@register.simple_tag
def icon(name: str, label: str = "") -> SafeString:
    """An icon from the page's SVG sprite (templates/web/_icons.html); decorative
    unless it has a label."""
    if label:
        return format_html('<svg class="icon" role="img" aria-label="{}"><use href="#i-{}"></use>'
                           "</svg>", label, name)
    return format_html('<svg class="icon" aria-hidden="true" focusable="false">'
                       '<use href="#i-{}"></use></svg>', name)


@register.inclusion_tag("web/_offline_badge.html")
def offline_badge() -> dict[str, Any]:
    return {}
