"""`smsbridge template check`: what a robot's SMS text will cost on the portal's real CRM data.

Runs the flow's logic in this process (no Prefect server needed), with a progress bar over the CRM
items read, and prints the figures. Exit 1 when Bitrix24 or SMS.ru refuse or the portal has no
items, 2 for bad arguments or configuration. Nothing is sent.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from clients.bitrix24.errors import Bitrix24Error, OAuthError
from clients.smsru.errors import SmsRuError
from smsbridge.cli.common import EXIT_CONFIG, TYPER_STYLE, ProgressBar, console, fail, prepare
from smsbridge.portals.smsru import NoSmsRuKey
from smsbridge.portals.tokens import PortalNotAuthorized
from smsbridge.runtime import runtime
from smsbridge.templates.check import (
    DEFAULT_SAMPLE,
    PRICE_PHONE,
    TemplateCheck,
    TemplateCheckFailed,
    check_template,
)
from smsbridge.templates.text import costly_rows, figure_rows, placeholder_rows

template_app = typer.Typer(help="SMS templates.", **TYPER_STYLE)
_FAILURES = (TemplateCheckFailed, SmsRuError, Bitrix24Error, OAuthError, PortalNotAuthorized)


@template_app.command("check")
def check(
    text: Annotated[
        str,
        typer.Argument(help="The text with its placeholders: #CONTACT_NAME#, {=Document:TITLE}."),
    ],
    portal: Annotated[str, typer.Option(help="The portal's member_id.")],
    entity: Annotated[str, typer.Option(help="What the robot runs on: deal, lead or contact.")],
    sample: Annotated[int, typer.Option(help="How many of the newest items to render.")] = (
        DEFAULT_SAMPLE
    ),
    phone: Annotated[str, typer.Option(help="The number SMS.ru prices the texts for.")] = (
        PRICE_PHONE
    ),
) -> None:
    """Render a template for a sample of real CRM items: lengths, segments, cost, what to fix."""
    settings = prepare(logging.WARNING)
    try:
        with Progress(console=console) as bars:
            progress = ProgressBar(bars, f"{entity}s read")

            async def run() -> TemplateCheck:
                async with runtime(settings) as rt:
                    return await check_template(
                        rt,
                        text,
                        member_id=portal,
                        entity=entity,
                        sample=sample,
                        phone=phone,
                        on_progress=progress,
                    )

            result = asyncio.run(run())
    except (ValueError, LookupError, NoSmsRuKey) as exc:
        fail(str(exc), EXIT_CONFIG)
    except _FAILURES as exc:
        fail(f"the check failed: {exc}")
    print_check(result, Console())


def print_check(check: TemplateCheck, out: Console) -> None:
    figures = Table("figure", "value", title="Template check (nothing was sent)")
    for label, value in figure_rows(check):
        figures.add_row(label, value)
    out.print(figures)
    for title, rows in (
        ("Placeholders", placeholder_rows(check)),
        ("Characters that make it dearer", costly_rows(check)),
    ):
        if rows:
            table = Table(*rows[0], title=title)
            for row in rows:
                table.add_row(*row.values())
            out.print(table)
