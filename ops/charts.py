"""Small server-side SVG charts: no script, no build step, nothing vendored.

Every label that comes from data (a job type, a status) is escaped; the rest
is numbers formatted here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

COLORS = ["#2f6f3e", "#c0392b", "#9aa4b2", "#3b6fd8", "#d68910", "#8e44ad", "#16a085",
          "#7f8c8d", "#e84393", "#2c3e50"]
STATUS_COLORS = {"completed": "#2f6f3e", "failed": "#c0392b", "cancelled": "#9aa4b2"}
W, H = 640, 190
LEFT, RIGHT, TOP, BOTTOM = 40, 8, 10, 22  # plot margins


def _color(name: str, index: int) -> str:
    return STATUS_COLORS.get(name, COLORS[index % len(COLORS)])


def _nice_top(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 5 x 10^n)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** len(str(int(value))) / 10 if value >= 1 else 1.0
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(value)


def _y(value: float, top: float) -> float:
    return TOP + (H - TOP - BOTTOM) * (1 - value / top)


def _frame(top: float, unit: str, body: str, legend: Sequence[str], ticks: str,
           title: str) -> SafeString:
    grid = []
    for fraction in (0.0, 0.5, 1.0):
        y = _y(top * fraction, top)
        grid.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}" '
                    f'stroke="#e4e7ec"/>'
                    f'<text x="{LEFT - 4}" y="{y + 3:.1f}" font-size="10" text-anchor="end" '
                    f'fill="#6b7585">{top * fraction:g}{escape(unit)}</text>')
    # The legend goes under the plot, wrapping as needed; the picture grows to hold it.
    keys, x, y = [], float(LEFT), H + 4
    for i, name in enumerate(legend):
        width = 6.2 * len(name) + 24  # about the text's width at 10 px
        if x + width > W and x > LEFT:
            x, y = float(LEFT), y + 13
        keys.append(f'<text x="{x:.0f}" y="{y}" font-size="10" fill="{_color(name, i)}">'
                    f'&#9632; {escape(name)}</text>')
        x += width
    return mark_safe(
        f'<svg viewBox="0 0 {W} {y + 6}" width="100%" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        f'{"".join(grid)}{ticks}{"".join(keys)}{body}</svg>')


def bar_chart(labels: Sequence[str], series: Mapping[str, Sequence[float]], *,
              title: str) -> SafeString:
    """Stacked bars, one per label (an hour), one colour per series (a status)."""
    count = max(1, len(labels))
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    top = _nice_top(max(totals, default=0))
    step = (W - LEFT - RIGHT) / count
    body = []
    for i in range(len(labels)):
        base = 0.0
        for n, (name, values) in enumerate(series.items()):
            if not values[i]:
                continue
            y_top, y_base = _y(base + values[i], top), _y(base, top)
            body.append(
                f'<rect x="{LEFT + step * i + 1:.1f}" y="{y_top:.1f}" '
                f'width="{max(step - 2, 1):.1f}" height="{y_base - y_top:.1f}" '
                f'fill="{_color(name, n)}"><title>{escape(labels[i])} {escape(name)}: '
                f'{values[i]:g}</title></rect>')
            base += values[i]
    ticks = "".join(
        f'<text x="{LEFT + step * i + step / 2:.1f}" y="{H - 6}" font-size="9" '
        f'text-anchor="middle" fill="#6b7585">{escape(label)}</text>'
        for i, label in enumerate(labels) if i % 3 == 0)
    return _frame(top, "", "".join(body), list(series), ticks, title)


def line_chart(series: Mapping[str, Sequence[tuple[dt.datetime, float]]], *,
               start: dt.datetime, end: dt.datetime, unit: str = "",
               title: str) -> SafeString:
    """Lines over time, x placed by timestamp (so gaps in the data show as gaps in time)."""
    span = max((end - start).total_seconds(), 1.0)
    top = _nice_top(max((v for points in series.values() for _, v in points), default=0))

    def x(at: dt.datetime) -> float:
        return LEFT + (W - LEFT - RIGHT) * (at - start).total_seconds() / span

    body = []
    for n, (name, points) in enumerate(series.items()):
        color = _color(name, n)
        coords = " ".join(f"{x(at):.1f},{_y(v, top):.1f}" for at, v in points)
        body.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" '
                    f'points="{coords}"><title>{escape(name)}</title></polyline>')
        if len(points) <= 48:  # hourly points: mark them, so a single hour shows
            body.extend(f'<circle cx="{x(at):.1f}" cy="{_y(v, top):.1f}" r="2.5" fill="{color}">'
                        f'<title>{escape(name)} {timezone.localtime(at):%H:%M}: {v:g}{escape(unit)}'
                        f'</title></circle>' for at, v in points)
    ticks = []
    tick = start.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    while tick <= end:
        if timezone.localtime(tick).hour % 3 == 0:
            ticks.append(f'<text x="{x(tick):.1f}" y="{H - 6}" font-size="9" '
                         f'text-anchor="middle" fill="#6b7585">'
                         f'{timezone.localtime(tick):%H:%M}</text>')
        tick += dt.timedelta(hours=1)
    return _frame(top, unit, "".join(body), list(series), "".join(ticks), title)
