"""The daily report as one self-contained HTML page: inline CSS, inline SVG charts drawn here.

Nothing is loaded from elsewhere (no CDN, fonts or scripts), so the file can be mailed, archived
or opened offline and shows the same. Every text that reaches the page goes through
`html.escape`: member ids, error texts and SMS.ru's meanings are data, not markup.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path

from smsbridge import daily_report as dr
from smsbridge.daily_report import DailyReport, Figures, Group

OUTCOME_COLOURS = (
    ("delivered", "#2e7d32"),
    ("undelivered", "#ef6c00"),
    ("failed", "#c62828"),
    ("pending", "#9e9e9e"),
)
LABEL_CHARS = 42  # what the chart's label column holds at 11 px
CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;
margin:0 auto;max-width:1100px;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px}
.muted{color:#666}.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{border:1px solid #ddd;border-radius:8px;padding:10px 14px;min-width:140px}
.card b{display:block;font-size:22px}table{border-collapse:collapse;width:100%;margin:6px 0}
th,td{border-bottom:1px solid #e5e5e5;padding:4px 8px;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}tr.total td{font-weight:600}
.legend span{display:inline-block;margin-right:14px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
svg{max-width:100%;height:auto}svg text{font:11px system-ui,sans-serif;fill:#333}
.notes{white-space:pre-wrap;color:#555}
"""


def file_name(report: DailyReport) -> str:
    return f"daily-report-{report.day.isoformat()}.html"


def write(report: DailyReport, directory: Path) -> Path:
    """Write the page into `directory` (created if missing); replaced whole, never half written:
    a reader of the old page never sees a torn one."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / file_name(report)
    partial = path.with_suffix(".html.partial")
    partial.write_text(render(report), encoding="utf-8")
    os.replace(partial, path)
    return path


def render(report: DailyReport) -> str:
    title = f"SMS daily report — {report.day.isoformat()}"
    generated = report.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="muted">Generated {escape(generated)}; each portal\'s own local day.</p>',
        _cards(report),
        "<h2>Headline</h2>",
        _table(("Figure", "Value"), dr.headline(report), numeric=()),
        "<h2>Outcomes per source</h2>",
        _outcome_chart(report),
        "<h2>Time to delivery</h2>",
        _histogram(report),
        "<h2>By portal, kind and source</h2>",
        _by_source(report),
        "<h2>Failures by SMS.ru code</h2>",
        _failures(report),
        "<h2>Long messages (two or more segments)</h2>",
        _long_messages(report),
        "<h2>SMS.ru accounts</h2>",
        _table(
            ("Key", "Portals", "Balance", "Daily limit", "Used today"),
            [_account_row(a) for a in report.accounts],
            numeric=(2, 3, 4),
        ),
        "<h2>How the figures are counted</h2>",
        f'<div class="notes">{escape(_definitions())}</div>',
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _cards(report: DailyReport) -> str:
    t = report.total
    cards = [
        ("Messages", dr.number(t.messages)),
        ("Delivered", dr.number(t.delivered)),
        ("Delivery rate", dr.percent(t.delivery_rate)),
        ("Median to delivery", dr.seconds(t.median_seconds)),
        ("Cost", dr.money(t.cost)),
    ]
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><span class="muted">{escape(label)}</span><b>{escape(value)}</b>'
            "</div>"
            for label, value in cards
        )
        + "</div>"
    )


def _table(
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    numeric: Iterable[int],
    totals: Iterable[int] = (),
) -> str:
    """A table of escaped cells; `numeric` columns align right, `totals` rows stand out."""
    right, bold = set(numeric), set(totals)

    def cell(tag: str, index: int, value: object) -> str:
        css = ' class="n"' if index in right else ""
        return f"<{tag}{css}>{escape('—' if value is None else str(value))}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(header))
    body = "".join(
        ('<tr class="total">' if n in bold else "<tr>")
        + "".join(cell("td", i, v) for i, v in enumerate(row))
        + "</tr>"
        for n, row in enumerate(rows)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


FIGURE_HEADER = (
    "Messages",
    "Sent",
    "Delivered",
    "Undelivered",
    "Failed",
    "Pending",
    "Delivery rate",
    "Median",
    "p90",
    "Segments",
    "Cost",
    "No cost yet",
)


def _figure_cells(f: Figures) -> list[object]:
    counts = (f.messages, f.sent, f.delivered, f.undelivered, f.failed, f.pending)
    return [
        *map(dr.number, counts),
        dr.percent(f.delivery_rate),
        dr.seconds(f.median_seconds),
        dr.seconds(f.p90_seconds),
        dr.number(f.segments),
        dr.money(f.cost),
        dr.number(f.without_cost),
    ]


def _by_source(report: DailyReport) -> str:
    rows: list[list[object]] = []
    totals = []
    for portal in report.by_portal:
        rows += [
            [g.member_id, g.kind, g.source, *_figure_cells(g.figures)]
            for g in report.by_source
            if g.member_id == portal.member_id
        ]
        totals.append(len(rows))
        rows.append([portal.member_id, "all", "all", *_figure_cells(portal.figures)])
    header = ("Portal", "Kind", "Source", *FIGURE_HEADER)
    return _table(header, rows, numeric=range(3, len(header)), totals=totals)


def _failures(report: DailyReport) -> str:
    if not report.failures:
        return '<p class="muted">No message failed or went undelivered.</p>'
    rows = [
        [
            f.member_id,
            f.outcome,
            dr.NO_CODE if f.code is None else f.code,
            f.meaning,
            dr.number(f.messages),
        ]
        for f in report.failures
    ]
    return _table(("Portal", "Outcome", "Code", "Meaning", "Messages"), rows, numeric=(4,))


def _long_messages(report: DailyReport) -> str:
    rows = [
        [
            "all portals" if m.member_id is None else m.member_id,
            dr.number(m.messages),
            dr.number(m.segments),
            dr.number(m.extra_segments),
            dr.money(m.saving),
        ]
        for m in report.long_messages
    ]
    return _table(
        ("Portal", "Messages", "Segments", "Segments saved by one each", "Saving"),
        rows,
        numeric=(1, 2, 3, 4),
        totals=(len(rows) - 1,),
    )


def _account_row(account: dr.Account) -> list[object]:
    if account.problem:
        return [account.label, ", ".join(account.member_ids), account.problem, None, None]
    limit = "none" if account.daily_limit is None else dr.number(account.daily_limit)
    used = None if account.used_today is None else dr.number(account.used_today)
    return [account.label, ", ".join(account.member_ids), dr.money(account.balance), limit, used]


def _outcome_chart(report: DailyReport) -> str:
    """Stacked horizontal bars: one per portal, kind and source, its length its message count."""
    groups = [g for g in report.by_source if g.figures.messages]
    if not groups:
        return '<p class="muted">No messages this day.</p>'
    several = len(report.portals) > 1
    label_width, bar_width, row_height = 260, 560, 24
    longest = max(g.figures.messages for g in groups)
    height = row_height * len(groups) + 8
    rows = []
    for n, group in enumerate(groups):
        y = 4 + n * row_height
        label = _group_label(group, several)
        shown = label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"
        rows.append(
            f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end">'
            f"<title>{escape(label)}</title>{escape(shown)}</text>"
        )
        x = float(label_width)
        for outcome, colour in OUTCOME_COLOURS:
            count = getattr(group.figures, outcome)
            if not count:
                continue
            width = bar_width * count / longest
            rows.append(
                f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{row_height - 6}" '
                f'fill="{colour}"><title>{escape(f"{outcome}: {dr.number(count)}")}</title></rect>'
            )
            x += width
        total = dr.number(group.figures.messages)
        rows.append(f'<text x="{x + 6:.1f}" y="{y + 15}">{total}</text>')
    legend = "".join(
        f'<span><i style="background:{colour}"></i>{escape(outcome)}</span>'
        for outcome, colour in OUTCOME_COLOURS
    )
    total_width = label_width + bar_width + 70
    return (
        f'<div class="legend">{legend}</div>'
        f'<svg role="img" aria-label="Outcomes per source" width="{total_width}" '
        f'height="{height}" viewBox="0 0 {total_width} {height}">{"".join(rows)}</svg>'
    )


def _group_label(group: Group, with_portal: bool) -> str:
    label = f"{group.kind} · {group.source}"
    return f"{group.member_id} · {label}" if with_portal else label


def _histogram(report: DailyReport) -> str:
    """Vertical bars: how many delivered messages took how long, in widening bins."""
    bins = report.delivery_histogram
    most = max((b.messages for b in bins), default=0)
    if not most:
        return '<p class="muted">No message was delivered this day.</p>'
    column, plot_height, top, bottom = 80, 160, 18, 22
    width, height = column * len(bins), top + plot_height + bottom
    bars = []
    for n, b in enumerate(bins):
        bar = plot_height * b.messages / most
        x, y = n * column, top + plot_height - bar
        centre, count = x + column / 2, dr.number(b.messages)
        bars.append(
            f'<rect x="{x + 6}" y="{y:.1f}" width="{column - 12}" height="{bar:.1f}" '
            f'fill="#1565c0"><title>{escape(f"{b.label}: {count}")}</title></rect>'
            f'<text x="{centre}" y="{y - 4:.1f}" text-anchor="middle">{count}</text>'
            f'<text x="{centre}" y="{height - 6}" text-anchor="middle">{escape(b.label)}</text>'
        )
    return (
        f'<svg role="img" aria-label="Time to delivery" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">{"".join(bars)}</svg>'
    )


def _definitions() -> str:
    """The definitions from `daily_report`'s docstring, so the page and the code agree."""
    text = dr.__doc__ or ""
    start = text.find("- **day**")
    end = text.find("\n\nThe day's rows")
    return text[start:end].replace("**", "").replace("`", "")
