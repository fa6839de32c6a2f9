"""`smsbridge report`: the `daily-report` flow's report, on demand, from a terminal.

Runs in this process (no Prefect server needed): prints the headline and writes the same
self-contained HTML page the flow writes; with `--from`/`--to`, one portal's period (the app's
analytics, `smsbridge.report.period`).
"""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from smsbridge.cli.common import (
    EXIT_CONFIG,
    ProgressBar,
    console,
    fail,
    prepare,
)
from smsbridge.config import Settings
from smsbridge.portals.lookup import PortalNotFound
from smsbridge.report.days import Day, ReportError, check_period, parse_date, parse_day
from smsbridge.report.model import DailyReport
from smsbridge.report.text import headline, title
from smsbridge.runtime import runtime


def report(
    day: Annotated[
        str,
        typer.Option(
            "--day",
            help="The day to report: YYYY-MM-DD, today or yesterday, each in the portal's own "
            "time zone (Moscow unless set), not this machine's.",
        ),
    ] = "today",
    member_id: Annotated[
        str | None,
        typer.Option("--member-id", "--portal", help="Only this portal (default: every portal)."),
    ] = None,
    first: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="A period instead of a day, YYYY-MM-DD: its first day (the portal's own; "
            "needs --portal; at most 92 days).",
        ),
    ] = None,
    last: Annotated[
        str | None,
        typer.Option("--to", help="The period's last day, YYYY-MM-DD (default: --from's)."),
    ] = None,
    reports_dir: Annotated[
        Path, typer.Option("--reports-dir", help="Where the HTML report is written.")
    ] = Path("reports"),
) -> None:
    """Report a day's (or a period's) SMS: outcomes, delivery times, cost, failures, the costliest
    texts; writes an HTML page."""
    try:
        wanted = parse_day(day)
        period = _period(first, last, member_id)
    except (ValueError, ReportError) as exc:
        fail(str(exc), EXIT_CONFIG)
    from smsbridge.report import html as report_html  # pandas: only this command loads it

    try:
        settings = prepare()
        reports = asyncio.run(_reports(settings, wanted, member_id, period))
        paths = [report_html.write(r, reports_dir) for r in reports]
    except (ReportError, PortalNotFound, SQLAlchemyError, OSError) as exc:
        fail(f"report failed: {exc}")
    if not reports:
        console.print("no portals to report on")
    out = Console()
    for daily, path in zip(reports, paths, strict=True):
        out.print(_headline_table(daily))
        out.print(f"HTML report: {escape(str(path))}")


def _period(first: str | None, last: str | None, member_id: str | None) -> tuple[date, date] | None:
    """`--from`/`--to` as dates, or None for a day's report; a ValueError or ReportError that
    says what is wrong."""
    if first is None:
        if last is not None:
            raise ValueError("--to needs --from: the period's first day")
        return None
    if member_id is None:
        raise ValueError("a period is reported for one portal: give --portal MEMBER_ID")
    dates = []
    for option, text in (("--from", first), ("--to", last or first)):
        found = parse_date(text)
        if found is None:
            raise ValueError(f"{option} must be a day as YYYY-MM-DD, not {text!r}")
        dates.append(found)
    check_period(dates[0], dates[1])
    return dates[0], dates[1]


async def _reports(
    settings: Settings, day: Day, member_id: str | None, period: tuple[date, date] | None
) -> list[DailyReport]:
    from smsbridge.report.daily import daily_reports
    from smsbridge.report.period import period_report

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console
    ) as bars:
        progress = ProgressBar(bars, "reading messages")
        async with runtime(settings) as rt:
            if period is not None and member_id is not None:
                return [await period_report(rt, member_id, *period, progress=progress)]
            return await daily_reports(rt, day, member_id, progress=progress)


def _headline_table(daily: DailyReport) -> Table:
    table = Table("Figure", "Value", title=title(daily))
    for label, value in headline(daily):
        table.add_row(escape(label), escape(value))
    return table
