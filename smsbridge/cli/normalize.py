"""`smsbridge normalize`: the `normalize-phones` flow's work, on demand, from a terminal.

A dry run unless `--apply`: on demand one usually wants to see what would change first. It runs
in this process (no Prefect server needed) with a progress bar per portal and entity type.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from smsbridge.cli.common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    ProgressBar,
    console,
    fail,
    prepare,
)
from smsbridge.config import Settings
from smsbridge.normalize.plan import check_region
from smsbridge.normalize.run import ENTITIES, NormalizeReport, PassTally, normalize_portals
from smsbridge.portals.tokens import PortalNotAuthorized
from smsbridge.runtime import runtime

UNPARSEABLE_SHOWN = 50


def normalize(
    member_id: Annotated[
        str | None,
        typer.Argument(help="Only this portal's member_id (default: every installed portal)."),
    ] = None,
    region: Annotated[
        str, typer.Option(help="Country (two letters) of numbers written without a country code.")
    ] = "RU",
    apply: Annotated[
        bool, typer.Option("--apply/--dry-run", help="Write the changes, or only show them.")
    ] = False,
    entities: Annotated[
        list[str] | None,
        typer.Option("--entity", help="contact or lead; repeat for both (default: both)."),
    ] = None,
) -> None:
    """Rewrite contacts' and leads' phones in E.164 (a dry run unless --apply); values that are
    not phone numbers are listed and left alone."""
    try:
        check_region(region)
    except ValueError as exc:
        fail(str(exc), EXIT_CONFIG)
    chosen = tuple(entities or ENTITIES)
    if not set(chosen) <= set(ENTITIES):
        fail(f"--entity must be one of {', '.join(ENTITIES)}", EXIT_CONFIG)
    settings = prepare()
    try:
        report = asyncio.run(_run(settings, member_id, chosen, region, not apply))
    except (LookupError, PortalNotAuthorized) as exc:
        fail(str(exc))
    _print_summary(report)
    if report.aborted or report.failures:
        raise typer.Exit(EXIT_FAILED)


async def _run(
    settings: Settings,
    member_id: str | None,
    entities: tuple[str, ...],
    region: str,
    dry_run: bool,
) -> NormalizeReport:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
    ) as bars:

        def progress_bar(tally: PassTally) -> ProgressBar:
            after = f" after ID {tally.resumed_after}" if tally.resumed_after else ""
            return ProgressBar(bars, f"{tally.member_id} {tally.entity}s{after}")

        async with runtime(settings) as rt:
            return await normalize_portals(
                rt,
                progress_bar,
                member_id=member_id,
                entities=entities,
                region=region,
                dry_run=dry_run,
            )


def _print_summary(report: NormalizeReport) -> None:
    out = Console()
    verb = "would change" if report.dry_run else "changed"
    table = Table(
        "portal",
        "entity",
        "items",
        "phones",
        "already E.164",
        verb,
        "unparseable",
        "failed writes",
        "finished",
        title="Phone normalization" + (" (dry run: nothing written)" if report.dry_run else ""),
    )
    for t in report.passes:
        table.add_row(
            t.member_id,
            t.entity,
            str(t.items),
            str(t.phones),
            str(t.already_e164),
            str(t.changed),
            str(t.unparseable),
            str(t.failed_writes),
            "yes" if t.completed else "no",
        )
    out.print(table)
    if report.unparseable:
        bad = Table("portal", "entity", "ID", "value", "reason", title="Not phone numbers")
        for row in report.unparseable[:UNPARSEABLE_SHOWN]:
            value = escape(repr(row.value))  # CRM text, not markup
            bad.add_row(row.member_id, row.entity, str(row.item_id), value, row.reason)
        out.print(bad)
        if len(report.unparseable) > UNPARSEABLE_SHOWN:
            out.print(f"… and {len(report.unparseable) - UNPARSEABLE_SHOWN} more")
    totals = report.summary()
    out.print(
        f"{totals['items']} items, {totals['phones']} phones: {totals['already_e164']} already "
        f"E.164, {totals['changed']} {verb}, {totals['unparseable']} not phone numbers, "
        f"{totals['failed_writes']} failed writes"
        + ("; nothing written (--apply writes)" if report.dry_run else "")
    )
    for failure in report.failures:
        console.print(
            f"[red]{failure.member_id} {failure.entity} {failure.item_id}: "
            f"{escape(failure.error)}[/red]",
            soft_wrap=True,
        )
    resumes = "" if report.dry_run else "; the next run resumes there"
    for member, why in report.aborted.items():
        console.print(f"[red]{member}: stopped ({escape(why)}){resumes}[/red]", soft_wrap=True)
