"""The app's analytics as an HTML fragment: a report's figures for the page inside Bitrix24.

A fragment (no `<html>` shell) the app's page puts where it likes: its own scoped style, charts
drawn inline (`charts`), nothing loaded from elsewhere; Russian unless asked for English, every
word from `wording`. Message texts, portal names and meanings are escaped: they are data.

Each figure carries what a browser test needs to compare it with the report: the element of a
figure has `data-figure` (a `Figures` field, or `text`) and `data-value` (the report's value as
`str` gives it; empty for none); rows have `data-group` (`kind`, `source`), `data-key` (the kind
or source as stored), `data-day`, `data-outcome`/`data-code`/`data-reason`, `data-rank`, and
`data-member-id`. Sections have ids: `sb-analytics` (the whole, with `data-first`/`data-last`),
`sb-analytics-total`, `-days`, `-by-kind`, `-by-source`, `-delivery`, `-failures`, `-texts`,
`-templates` (rows with `data-template`), `-empty`.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Literal

from smsbridge.report import charts
from smsbridge.report.model import DailyReport, Figures
from smsbridge.report.wording import (
    Lang,
    duration,
    failure_words,
    label,
    language,
    money,
    name,
    number,
    percent,
    seconds,
    short_day,
)
from smsbridge.report.wording import day as day_words

CARDS = (
    "messages",
    "sent",
    "delivered",
    "undelivered",
    "failed",
    "pending",
    "delivery_rate",
    "median_seconds",
    "p90_seconds",
    "segments",
    "cost",
    "without_cost",
)
COLUMNS = CARDS[:-1]  # a table's figures (the price still unknown is the total's only)
CSS = """
#sb-analytics{font:14px/1.45 "Open Sans","Helvetica Neue",Arial,sans-serif;color:#333}
#sb-analytics h3{font-size:16px;margin:22px 0 8px}
#sb-analytics .sb-muted{color:#80868e}
#sb-analytics .sb-cards{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}
#sb-analytics .sb-card{border:1px solid #dfe3e8;border-radius:6px;padding:8px 12px;min-width:120px}
#sb-analytics .sb-card b{display:block;font-size:20px}
#sb-analytics table{border-collapse:collapse;width:100%;margin:6px 0}
#sb-analytics th,#sb-analytics td{border-bottom:1px solid #edeef0;padding:4px 6px;text-align:left;
vertical-align:top}
#sb-analytics th{font-weight:600;font-size:13px}
#sb-analytics .n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
#sb-analytics .sb-text{white-space:pre-wrap;word-break:break-word;max-width:520px}
#sb-analytics .sb-wide{overflow-x:auto}
#sb-analytics td:first-child{white-space:nowrap}
#sb-analytics .legend span{display:inline-block;margin-right:14px}
#sb-analytics .legend i{display:inline-block;width:10px;height:10px;margin-right:4px;
border-radius:2px}
#sb-analytics svg{max-width:100%;height:auto}
#sb-analytics svg text{font:11px "Open Sans",Arial,sans-serif;fill:#535c69}
"""


def analytics_fragment(report: DailyReport, lang: str = "ru") -> str:
    """The report's analytics as a fragment of the app's page, in Russian or (`en`) English."""
    words = language(lang)
    zones = ", ".join(sorted({p.timezone for p in report.portals})) or "—"
    first, last = day_words(report.day, words), day_words(report.last, words)
    span = label("one_day" if report.day == report.last else "period", words)
    at = report.generated_at.strftime("%Y-%m-%d %H:%M")
    parts = [
        f"<style>{CSS}</style>",
        f'<section id="sb-analytics" lang="{words}" data-first="{report.day.isoformat()}" '
        f'data-last="{report.last.isoformat()}">',
        f"<h2>{escape(label('title', words))}</h2>",
        f'<p class="sb-muted">{escape(span.format(first=first, last=last, zone=zones))}. '
        f"{escape(label('generated', words).format(at=at))}</p>",
        _cards(report.total, words),
    ]
    if not report.total.messages:
        empty = escape(label("empty", words))
        parts.append(f'<p id="sb-analytics-empty" class="sb-muted">{empty}</p>')
    else:
        parts += [
            _section("days", "by_day", _days(report, words), words),
            _section("by-kind", "by_kind", _groups(report, "kind", words), words),
            _section("by-source", "by_source", _groups(report, "source", words), words),
            _section("delivery", "delivery_time", _delivery(report, words), words),
            _section("failures", "failures", _failures(report, words), words),
            _section("texts", "texts", _texts(report, words), words),
            _section("templates", "templates", _templates(report, words), words),
            f'<p class="sb-muted">{escape(label("rate_note", words))}</p>',
        ]
    parts.append("</section>")
    return "\n".join(parts) + "\n"


def _section(id_: str, title: str, body: str, words: Lang) -> str:
    return f'<div id="sb-analytics-{id_}"><h3>{escape(label(title, words))}</h3>{body}</div>'


def _shown(figure: str, figures: Figures, words: Lang) -> str:
    value = getattr(figures, figure)
    if figure == "delivery_rate":
        return percent(value, words)
    if figure in ("median_seconds", "p90_seconds"):
        return seconds(value, words)
    if figure == "cost":
        return money(value, words)
    return number(value, words)


def _value(figure: str, value: object, shown: str, tag: str = "td") -> str:
    raw = "" if value is None else str(value)
    return (
        f'<{tag} class="n" data-figure="{figure}" data-value="{escape(raw)}">'
        f"{escape(shown)}</{tag}>"
    )


def _cards(total: Figures, words: Lang) -> str:
    cards = "".join(
        f'<div class="sb-card"><span class="sb-muted">{escape(label(figure, words))}</span>'
        f"{_value(figure, getattr(total, figure), _shown(figure, total, words), 'b')}</div>"
        for figure in CARDS
    )
    return f'<div id="sb-analytics-total" class="sb-cards">{cards}</div>'


def _figure_cells(figures: Figures, words: Lang) -> str:
    return "".join(_value(f, getattr(figures, f), _shown(f, figures, words)) for f in COLUMNS)


def _header(first: Sequence[str], words: Lang, figures: Sequence[str] = COLUMNS) -> str:
    cells = [f"<th>{escape(label(h, words))}</th>" for h in first]
    cells += [f'<th class="n">{escape(label(f, words))}</th>' for f in figures]
    return f"<thead><tr>{''.join(cells)}</tr></thead>"


def _portal_cell(report: DailyReport, member_id: str) -> str:
    """The portal's column, when the report has several."""
    if len(report.portals) < 2:
        return ""
    names = {p.member_id: p.name for p in report.portals}
    return f"<td>{escape(names.get(member_id, member_id))}</td>"


def _portal_header(report: DailyReport) -> list[str]:
    return ["portal"] if len(report.portals) > 1 else []


def _groups(report: DailyReport, by: Literal["kind", "source"], words: Lang) -> str:
    """A row of figures per kind or per source (each portal's, when there are several)."""
    groups = report.by_kind if by == "kind" else report.by_source
    rows = "".join(
        f'<tr data-group="{by}" data-key="{escape(str(getattr(g, by)))}" '
        f'data-member-id="{escape(g.member_id)}">{_portal_cell(report, g.member_id)}'
        f"<td>{escape(name(getattr(g, by), words))}</td>{_figure_cells(g.figures, words)}</tr>"
        for g in groups
    )
    head = _header([*_portal_header(report), by], words)
    return f'<div class="sb-wide"><table>{head}<tbody>{rows}</tbody></table></div>'


def _days(report: DailyReport, words: Lang) -> str:
    outcomes = charts.OUTCOME_COLOURS
    series = [(label(outcome, words), colour) for outcome, colour in outcomes]
    chart = charts.columns(
        [
            (short_day(d.day, words), [getattr(d.figures, o) for o, _ in outcomes])
            for d in report.series
        ],
        series,
        label("by_day", words),
        lambda n: number(n, words),
    )
    rows = "".join(
        f'<tr data-day="{d.day.isoformat()}"><td>{escape(day_words(d.day, words))}</td>'
        f"{_figure_cells(d.figures, words)}</tr>"
        for d in report.series
    )
    table = f"<table>{_header(['day'], words)}<tbody>{rows}</tbody></table>"
    return f'{chart}<div class="sb-wide">{table}</div>'


def _delivery(report: DailyReport, words: Lang) -> str:
    bins = report.delivery_histogram
    if not any(b.messages for b in bins):
        return f'<p class="sb-muted">{escape(label("no_delivery", words))}</p>'
    return charts.columns(
        [(duration(b.label, words), [b.messages]) for b in bins],
        [(label("delivered", words), charts.DELIVERY_COLOUR)],
        label("delivery_time", words),
        lambda n: number(n, words),
    )


def _failures(report: DailyReport, words: Lang) -> str:
    if not report.failures:
        return f'<p class="sb-muted">{escape(label("no_failures", words))}</p>'
    rows = "".join(
        f'<tr data-outcome="{escape(f.outcome)}" data-code="{"" if f.code is None else f.code}" '
        f'data-reason="{escape(f.reason or "")}" data-member-id="{escape(f.member_id)}">'
        f"{_portal_cell(report, f.member_id)}<td>{escape(name(f.outcome, words))}</td>"
        f'<td class="n">{"—" if f.code is None else f.code}</td>'
        f"<td>{escape(failure_words(f, words))}</td>"
        f"{_value('messages', f.messages, number(f.messages, words))}</tr>"
        for f in report.failures
    )
    head = _header([*_portal_header(report), "outcome", "code", "reason"], words, ["messages"])
    return f"<table>{head}<tbody>{rows}</tbody></table>"


def _texts(report: DailyReport, words: Lang) -> str:
    if not report.top_texts:
        return f'<p class="sb-muted">{escape(label("no_texts", words))}</p>'
    rank: dict[str, int] = {}
    rows = []
    for t in report.top_texts:
        rank[t.member_id] = rank.get(t.member_id, 0) + 1
        rows.append(
            f'<tr data-rank="{rank[t.member_id]}" data-member-id="{escape(t.member_id)}">'
            f"{_portal_cell(report, t.member_id)}"
            f'<td class="sb-text" data-figure="text" data-value="{escape(t.text)}">'
            f"{escape(t.text)}</td>"
            f"{_value('messages', t.messages, number(t.messages, words))}"
            f"{_value('segments', t.segments, number(t.segments, words))}"
            f"{_value('cost', t.cost, money(t.cost, words))}</tr>"
        )
    head = _header([*_portal_header(report), "text"], words, ["messages", "segments", "cost"])
    return f"<table>{head}<tbody>{''.join(rows)}</tbody></table>"


def _templates(report: DailyReport, words: Lang) -> str:
    """Cost by template: the report's dearest templates with a row of figures each."""
    if not report.templates:
        return f'<p class="sb-muted">{escape(label("no_templates", words))}</p>'
    rows = "".join(
        f'<tr data-template="{escape(t.template)}" data-member-id="{escape(t.member_id)}">'
        f'{_portal_cell(report, t.member_id)}<td class="sb-text">{escape(t.template)}</td>'
        f"{_figure_cells(t.figures, words)}</tr>"
        for t in report.templates
    )
    head = _header([*_portal_header(report), "template"], words)
    return f'<div class="sb-wide"><table>{head}<tbody>{rows}</tbody></table></div>'
