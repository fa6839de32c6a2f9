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

from smsbridge.report import charts, daily, text
from smsbridge.report.model import Account, DailyReport, Figures, Group
from smsbridge.report.text import NO_CODE, headline, money, number, percent, portal_names, seconds

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;
margin:0 auto;max-width:1360px;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px}
.muted{color:#666}.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{border:1px solid #ddd;border-radius:8px;padding:10px 14px;min-width:140px}
.card b{display:block;font-size:22px}table{border-collapse:collapse;width:100%;margin:6px 0}
th,td{border-bottom:1px solid #e5e5e5;padding:4px 6px;text-align:left;vertical-align:top}
th{font-weight:600;font-size:13px}td.n{white-space:nowrap}.wide{overflow-x:auto}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}tr.total td{font-weight:600}
.legend span{display:inline-block;margin-right:14px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
svg{max-width:100%;height:auto}svg text{font:11px system-ui,sans-serif;fill:#333}
.notes{white-space:pre-wrap;color:#555}.texts td:nth-child(2){white-space:pre-wrap;max-width:640px}
"""


def file_name(report: DailyReport) -> str:
    if report.last == report.day:
        return f"daily-report-{report.day.isoformat()}.html"
    return f"report-{report.day.isoformat()}-to-{report.last.isoformat()}.html"


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
    title = text.title(report)
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
        _table(("Figure", "Value"), headline(report), numeric=()),
        *_by_day(report),
        "<h2>Outcomes per source</h2>",
        _outcome_chart(report),
        "<h2>Time to delivery</h2>",
        _histogram(report),
        "<h2>By portal, kind and source</h2>",
        _by_source(report),
        "<h2>Failures by SMS.ru code</h2>",
        _failures(report),
        "<h2>Refused by the message policy</h2>",
        _refusals(report),
        "<h2>The most expensive texts</h2>",
        _top_texts(report),
        "<h2>Long messages (two or more segments)</h2>",
        _long_messages(report),
        "<h2>Cost by template</h2>",
        _templates(report),
        "<h2>SMS.ru accounts</h2>",
        _table(
            ("Account", "Portals", "Balance", "Daily limit", "Used today"),
            [_account_row(a, portal_names(report)) for a in report.accounts],
            numeric=(2, 3, 4),
        ),
        "<h2>How the figures are counted</h2>",
        f'<div class="notes">{escape(_definitions())}</div>',
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _cards(report: DailyReport) -> str:
    total = report.total
    cards = [
        ("Messages", number(total.messages)),
        ("Delivered", number(total.delivered)),
        ("Delivery rate", percent(total.delivery_rate)),
        ("Median to delivery", seconds(total.median_seconds)),
        ("Cost", money(total.cost)),
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
        *map(number, counts),
        percent(f.delivery_rate),
        seconds(f.median_seconds),
        seconds(f.p90_seconds),
        number(f.segments),
        money(f.cost),
        number(f.without_cost),
    ]


def _by_source(report: DailyReport) -> str:
    names = portal_names(report)
    rows: list[list[object]] = []
    totals = []
    for portal in report.by_portal:
        name = names.get(portal.member_id, portal.member_id)
        rows += [
            [name, g.kind, g.source, *_figure_cells(g.figures)]
            for g in report.by_source
            if g.member_id == portal.member_id
        ]
        totals.append(len(rows))
        rows.append([name, "all", "all", *_figure_cells(portal.figures)])
    header = ("Portal", "Kind", "Source", *FIGURE_HEADER)
    table = _table(header, rows, numeric=range(3, len(header)), totals=totals)
    return f'<div class="wide">{table}</div>'  # fits 1400 px; a narrow window scrolls it


def _failures(report: DailyReport) -> str:
    if not report.failures:
        return '<p class="muted">No message failed or went undelivered.</p>'
    rows = [
        [
            portal_names(report).get(f.member_id, f.member_id),
            f.outcome,
            NO_CODE if f.code is None else f.code,
            f.meaning,
            number(f.messages),
        ]
        for f in report.failures
    ]
    return _table(("Portal", "Outcome", "Code", "Meaning", "Messages"), rows, numeric=(4,))


def _refusals(report: DailyReport) -> str:
    if not report.refusals:
        return '<p class="muted">The policy refused no message.</p>'
    rows = [[r.member_id, r.kind, r.reason, number(r.messages)] for r in report.refusals]
    return _table(("Portal", "Kind", "Reason", "Messages"), rows, numeric=(3,))


def _top_texts(report: DailyReport) -> str:
    if not report.top_texts:
        return '<p class="muted">No message with a text was sent.</p>'
    names = portal_names(report)
    rows = [
        [names.get(t.member_id), t.text, number(t.messages), number(t.segments), money(t.cost)]
        for t in report.top_texts
    ]
    table = _table(("Portal", "Text", "Messages", "Segments", "Cost"), rows, numeric=(2, 3, 4))
    return f'<div class="texts">{table}</div>'


def _long_messages(report: DailyReport) -> str:
    rows = [
        [
            "all portals" if m.member_id is None else portal_names(report).get(m.member_id),
            number(m.messages),
            number(m.segments),
            number(m.extra_segments),
            money(m.saving),
        ]
        for m in report.long_messages
    ]
    return _table(
        ("Portal", "Messages", "Segments", "Segments saved by one each", "Saving"),
        rows,
        numeric=(1, 2, 3, 4),
        totals=(len(rows) - 1,),
    )


def _templates(report: DailyReport) -> str:
    if not report.templates:
        return '<p class="muted">No message this day.</p>'
    names = portal_names(report)
    rows = [
        [names.get(t.member_id, t.member_id), t.template, *_figure_cells(t.figures)]
        for t in report.templates
    ]
    header = ("Portal", "Template", *FIGURE_HEADER)
    return f'<div class="wide">{_table(header, rows, numeric=range(2, len(header)))}</div>'


def _account_row(account: Account, names: dict[str, str]) -> list[object]:
    portals = ", ".join(names.get(m, m) for m in account.member_ids)
    if account.problem:
        return [account.title, portals, account.problem, None, None]
    limit = "none" if account.daily_limit is None else number(account.daily_limit)
    used = None if account.used_today is None else number(account.used_today)
    return [account.title, portals, money(account.balance), limit, used]


def _by_day(report: DailyReport) -> list[str]:
    """A period's days: outcomes as stacked columns, and each day's figures (none for a day)."""
    if len(report.series) < 2:
        return []
    outcomes = charts.OUTCOME_COLOURS
    chart = charts.columns(
        [
            (d.day.strftime("%m-%d"), [getattr(d.figures, o) for o, _ in outcomes])
            for d in report.series
        ],
        outcomes,
        "Outcomes per day",
    )
    rows = [[d.day.isoformat(), *_figure_cells(d.figures)] for d in report.series]
    table = _table(("Day", *FIGURE_HEADER), rows, numeric=range(1, len(FIGURE_HEADER) + 1))
    return ["<h2>By day</h2>", chart, f'<div class="wide">{table}</div>']


def _outcome_chart(report: DailyReport) -> str:
    """Stacked horizontal bars: one per portal, kind and source, its length its message count."""
    groups = [g for g in report.by_source if g.figures.messages]
    if not groups:
        return f'<p class="muted">No messages {_this(report)}.</p>'
    names = portal_names(report) if len(report.portals) > 1 else None
    rows = [
        (
            _group_label(g, names),
            [getattr(g.figures, outcome) for outcome, _ in charts.OUTCOME_COLOURS],
        )
        for g in groups
    ]
    return charts.bars(rows, charts.OUTCOME_COLOURS, "Outcomes per source")


def _group_label(group: Group, names: dict[str, str] | None) -> str:
    label = f"{group.kind} · {group.source}"
    return f"{names.get(group.member_id, group.member_id)} · {label}" if names else label


def _histogram(report: DailyReport) -> str:
    """Vertical bars: how many delivered messages took how long, in widening bins."""
    bins = report.delivery_histogram
    if not any(b.messages for b in bins):
        return f'<p class="muted">No message was delivered {_this(report)}.</p>'
    rows = [(b.label, [b.messages]) for b in bins]
    return charts.columns(rows, [("delivered", charts.DELIVERY_COLOUR)], "Time to delivery")


def _this(report: DailyReport) -> str:
    return "this day" if report.day == report.last else "in this period"


def _definitions() -> str:
    """The definitions from `report.daily`'s docstring, so the page and the code agree."""
    doc = daily.__doc__ or ""
    start = doc.find("- **day**")
    end = doc.find("\n\nThe day's rows")
    return doc[start:end].replace("**", "").replace("`", "")
