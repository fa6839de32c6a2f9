"""The reports' charts: bars drawn as inline SVG here (no script, no library, nothing loaded).

Shared by the daily report's page and the app's analytics. Every label is escaped (portal names,
texts in either language are data); numbers are shown as the caller's `count` words them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

from smsbridge.report.text import number

Series = tuple[str, str]  # (the name a legend and a tooltip show, its colour)
Row = tuple[str, Sequence[int]]  # (a label, one count per series)
OUTCOME_COLOURS = (  # a message's outcome (a `Figures` field) and its colour in every chart
    ("delivered", "#2e7d32"),
    ("undelivered", "#ef6c00"),
    ("failed", "#c62828"),
    ("pending", "#9e9e9e"),
)
DELIVERY_COLOUR = "#1565c0"  # the time-to-delivery histogram
LABEL_CHARS = 42  # what the bar chart's label column holds at 11 px


def legend(series: Sequence[Series]) -> str:
    return (
        '<div class="legend">'
        + "".join(
            f'<span><i style="background:{colour}"></i>{escape(name)}</span>'
            for name, colour in series
        )
        + "</div>"
    )


def bars(
    rows: Sequence[Row],
    series: Sequence[Series],
    label: str,
    count: Callable[[int], str] = number,
) -> str:
    """Stacked horizontal bars, one per row, each as long as its total; with its legend."""
    label_width, bar_width, row_height = 260, 560, 24
    longest = max((sum(counts) for _, counts in rows), default=0) or 1
    height = row_height * len(rows) + 8
    parts = []
    for n, (name, counts) in enumerate(rows):
        y = 4 + n * row_height
        shown = name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end">'
            f"<title>{escape(name)}</title>{escape(shown)}</text>"
        )
        x = float(label_width)
        for (part, colour), value in zip(series, counts, strict=True):
            if not value:
                continue
            width = bar_width * value / longest
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{row_height - 6}" '
                f'fill="{colour}"><title>{escape(f"{part}: {count(value)}")}</title></rect>'
            )
            x += width
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 15}">{escape(count(sum(counts)))}</text>')
    width = label_width + bar_width + 70
    return legend(series) + _svg(label, width, height, parts)


def columns(
    rows: Sequence[Row],
    series: Sequence[Series],
    label: str,
    count: Callable[[int], str] = number,
    *,
    width: int = 880,
) -> str:
    """Stacked vertical columns, one per row (a histogram's bins, a period's days), each as tall
    as its total, with the total above and the row's label below when there is room for them; a
    legend when there are several series."""
    slot = min(80.0, width / max(len(rows), 1))
    every = math.ceil(60 / slot)  # a label needs some 60 px
    plot_height, top, bottom = 160, 18, 22
    height = top + plot_height + bottom
    most = max((sum(counts) for _, counts in rows), default=0) or 1
    parts = []
    for n, (name, counts) in enumerate(rows):
        x, base = n * slot, float(top + plot_height)
        for (part, colour), value in zip(series, counts, strict=True):
            if not value:
                continue
            bar = plot_height * value / most
            base -= bar
            tip = (
                f"{name}: {count(value)}" if len(series) == 1 else f"{name}, {part}: {count(value)}"
            )
            parts.append(
                f'<rect x="{x + slot * 0.08:.1f}" y="{base:.1f}" width="{slot * 0.84:.1f}" '
                f'height="{bar:.1f}" fill="{colour}"><title>{escape(tip)}</title></rect>'
            )
        centre = x + slot / 2
        if n % every == 0:
            if slot >= 30:
                parts.append(
                    f'<text x="{centre:.1f}" y="{base - 4:.1f}" text-anchor="middle">'
                    f"{escape(count(sum(counts)))}</text>"
                )
            parts.append(
                f'<text x="{centre:.1f}" y="{height - 6}" text-anchor="middle">'
                f"{escape(name)}</text>"
            )
    total_width = round(slot * len(rows))
    chart = _svg(label, total_width, height, parts)
    return legend(series) + chart if len(series) > 1 else chart


def _svg(label: str, width: float, height: float, parts: list[str]) -> str:
    return (
        f'<svg role="img" aria-label="{escape(label)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">{"".join(parts)}</svg>'
    )
