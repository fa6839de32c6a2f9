"""`smsbridge report`: the `daily-report` flow's report, on demand, from a terminal.

Runs in this process (no Prefect server needed): prints the headline and writes the same
self-contained HTML page the flow writes.
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

from smsbridge import report_html
from smsbridge.commands.common import (
    EXIT_CONFIG,
    console,
    fail,
    prepare,
)
from smsbridge.config import Settings
from smsbridge.daily_report import DailyReport, ReportError, daily_reports, headline, parse_day
from smsbridge.runtime import runtime


def report(
    day: Annotated[
        str | None,
        typer.Option(
            "--day",
            help="The day to report, YYYY-MM-DD, in each portal's time zone "
            "(default: each portal's yesterday).",
        ),
    ] = None,
    member_id: Annotated[
        str | None, typer.Option("--member-id", help="Only this portal (default: every portal).")
    ] = None,
    reports_dir: Annotated[
        Path, typer.Option("--reports-dir", help="Where the HTML report is written.")
    ] = Path("reports"),
) -> None:
    """Report a day's SMS: outcomes, delivery times, cost, failures; writes an HTML page."""
    try:
        wanted = parse_day(day) if day is not None else None
    except ValueError as exc:
        fail(str(exc), EXIT_CONFIG)
    try:
        settings = prepare()
        reports = asyncio.run(_reports(settings, wanted, member_id))
        paths = [report_html.write(r, reports_dir) for r in reports]
    except (ReportError, SQLAlchemyError, OSError) as exc:
        fail(f"report failed: {exc}")
    if not reports:
        console.print("no portals to report on")
    out = Console()
    for daily, path in zip(reports, paths, strict=True):
        out.print(_headline_table(daily))
        out.print(f"HTML report: {escape(str(path))}")


async def _reports(
    settings: Settings, day: date | None, member_id: str | None
) -> list[DailyReport]:
    with Progress(
        TextColumn("reading messages"), BarColumn(), MofNCompleteColumn(), console=console
    ) as bar:
        task = bar.add_task("read", total=None)

        async def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        async with runtime(settings) as rt:
            return await daily_reports(rt, day, member_id, progress=progress)


def _headline_table(daily: DailyReport) -> Table:
    table = Table("Figure", "Value", title=f"SMS daily report — {daily.day.isoformat()}")
    for label, value in headline(daily):
        table.add_row(escape(label), escape(value))
    return table
