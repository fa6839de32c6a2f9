"""`daily-report` (daily, early morning; or on demand for any day): what became of a day's SMS.

Per portal, kind and source: sent, delivered, undelivered, failed, pending, delivery rate, time to
delivery, segments, cost, failures by SMS.ru code, what shortening long messages would save, and
the SMS.ru balance and limit (definitions in `smsbridge.report.daily`). Published as artifacts
(headline, by source, failures) and as a self-contained HTML page in `reports_dir`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow

from flows.artifacts import ProgressArtifact, publish_markdown, publish_table
from smsbridge.config import Settings
from smsbridge.report import html as report_html
from smsbridge.report.daily import daily_reports
from smsbridge.report.days import parse_day
from smsbridge.report.model import DailyReport, Figures
from smsbridge.report.text import NO_CODE, headline
from smsbridge.runtime import runtime


@flow(name="daily-report", log_prints=True)
async def daily_report(
    day: str | None = None,
    member_id: str | None = None,
    reports_dir: str = "reports",
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Report `day` (YYYY-MM-DD, today or yesterday: each portal's own; default: yesterday) for
    every portal or `member_id`'s. Returns {"reports": [summary per reported date]}: one date
    unless portals far apart in time zones are on different yesterdays."""
    wanted = parse_day(day) if day else None
    async with runtime(settings) as rt:
        progress = ProgressArtifact(
            "daily-report-progress", "Messages of the day read for the report"
        )
        reports = await daily_reports(rt, wanted, member_id, progress=progress)
    summaries = []
    for report in reports:
        path = report_html.write(report, Path(reports_dir))
        await publish_markdown(
            "daily-report-headline",
            headline_markdown(report, str(path)),
            f"SMS daily report for {report.day.isoformat()}",
        )
        await publish_table(
            "daily-report-by-source",
            by_source_rows(report),
            f"Messages of {report.day.isoformat()} per portal, kind and source",
        )
        await publish_table(
            "daily-report-failures",
            failure_rows(report),
            f"Failed and undelivered messages of {report.day.isoformat()} by SMS.ru code",
        )
        total = report.total
        print(
            f"{report.day}: {total.messages} messages, {total.delivered} delivered, "
            f"{total.failed} failed, {total.pending} pending; report at {path}"
        )
        summaries.append(summary(report, str(path)))
    if not reports:
        print("no portals to report on")
    return {"reports": summaries}


def headline_markdown(report: DailyReport, html_path: str) -> str:
    title = f"# SMS daily report — {report.day.isoformat()}"
    lines = [title, "", "| figure | value |", "|---|---|"]
    lines += [f"| {label} | {value.replace('|', '/')} |" for label, value in headline(report)]
    lines += ["", f"Full report with charts: `{html_path}`"]
    return "\n".join(lines) + "\n"


def _figure_columns(f: Figures) -> dict[str, Any]:
    return {
        "messages": f.messages,
        "sent": f.sent,
        "delivered": f.delivered,
        "undelivered": f.undelivered,
        "failed": f.failed,
        "pending": f.pending,
        "delivery_rate": None if f.delivery_rate is None else round(f.delivery_rate, 4),
        "median_s": f.median_seconds,
        "p90_s": f.p90_seconds,
        "segments": f.segments,
        "cost": str(f.cost),
        "without_cost": f.without_cost,
    }


def by_source_rows(report: DailyReport) -> list[dict[str, Any]]:
    """Each portal's kinds and sources, then the portal's total (kind and source "all")."""
    rows = []
    for portal in report.by_portal:
        rows += [
            {"portal": g.member_id, "kind": g.kind, "source": g.source} | _figure_columns(g.figures)
            for g in report.by_source
            if g.member_id == portal.member_id
        ]
        rows.append(
            {"portal": portal.member_id, "kind": "all", "source": "all"}
            | _figure_columns(portal.figures)
        )
    return rows


def failure_rows(report: DailyReport) -> list[dict[str, Any]]:
    return [
        {
            "portal": f.member_id,
            "outcome": f.outcome,
            "code": NO_CODE if f.code is None else f.code,
            "meaning": f.meaning,
            "messages": f.messages,
        }
        for f in report.failures
    ]


def summary(report: DailyReport, html_path: str) -> dict[str, Any]:
    """The headline figures, JSON-able."""
    long = report.long_messages[-1]
    return {
        "day": report.day.isoformat(),
        "portals": [p.member_id for p in report.portals],
        **_figure_columns(report.total),
        "long_messages": long.messages,
        "long_extra_segments": long.extra_segments,
        "long_saving": None if long.saving is None else str(long.saving),
        "accounts": [
            {
                "key": a.title,
                "balance": None if a.balance is None else str(a.balance),
                "daily_limit": a.daily_limit,
                "used_today": a.used_today,
                "problem": a.problem,
            }
            for a in report.accounts
        ],
        "html": html_path,
    }
