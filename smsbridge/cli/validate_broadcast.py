"""`smsbridge validate-broadcast`: check and price a broadcast from the shell; nothing is sent.

Runs the flow's logic in this process (no Prefect server needed) with a progress bar over the
SMS.ru cost calls, and prints the figures. Exit 1 when SMS.ru or Bitrix24 refuse, 2 for bad
arguments or configuration.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from clients.bitrix24.errors import Bitrix24Error, OAuthError
from clients.smsru.errors import SmsRuError
from smsbridge.broadcast.check import BroadcastCheckFailed
from smsbridge.broadcast.marks import MarkingIncomplete
from smsbridge.broadcast.validate import Validation, validate
from smsbridge.cli.common import (
    EXIT_CONFIG,
    ProgressBar,
    console,
    fail,
    prepare,
)
from smsbridge.portals.tokens import PortalNotAuthorized
from smsbridge.runtime import runtime

SHOWN_INVALID = 20  # rows printed; the invalid CSV has them all
_FAILURES = (BroadcastCheckFailed, SmsRuError, Bitrix24Error, OAuthError, PortalNotAuthorized)


def validate_broadcast(
    text: Annotated[str, typer.Argument(help="The message text, exactly as it would be sent.")],
    csv: Annotated[
        Path | None,
        typer.Option(
            help="Recipients from this CSV file: a phone/телефон/number column, or one column."
        ),
    ] = None,
    crm: Annotated[
        str | None, typer.Option(help="Recipients from the portal's CRM: contact or lead.")
    ] = None,
    filter: Annotated[
        str | None,
        typer.Option(
            help='The CRM selection as a crm.*.list filter in JSON: {"SOURCE_ID": "WEB"}.'
        ),
    ] = None,
    member_id: Annotated[
        str | None, typer.Option(help="The portal (default: the only one stored).")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(help="The cleaned CSV (default reports/validate-broadcast-<UTC time>.csv)."),
    ] = None,
    mark_invalid: Annotated[
        bool, typer.Option(help="Write the reasons into UF_CRM_SMS_INVALID on the CRM items.")
    ] = False,
) -> None:
    """Check a broadcast's numbers and price it at SMS.ru, without sending anything."""
    crm_filter = _parse_filter(filter)
    if filter is not None and crm is None:
        _bad_arguments("--filter selects CRM items: give --crm too")
    settings = prepare(logging.INFO)
    try:
        with Progress(console=console) as bars:
            progress = ProgressBar(bars, "SMS.ru cost calls")

            async def run() -> Validation:
                async with runtime(settings) as rt:
                    return await validate(
                        rt,
                        text,
                        csv_path=csv,
                        crm_entity=crm,
                        crm_filter=crm_filter,
                        member_id=member_id,
                        output_csv=output,
                        mark_invalid=mark_invalid,
                        on_progress=progress,
                    )

            validation = asyncio.run(run())
    except (ValueError, LookupError) as exc:
        _bad_arguments(str(exc))
    except _FAILURES as exc:
        fail(f"validation failed: {exc}")
    _print(validation)
    try:
        if validation.marks is not None:
            validation.marks.raise_if_failed()
    except MarkingIncomplete as exc:
        fail(str(exc))


def _parse_filter(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        _bad_arguments(f"--filter is not JSON: {exc}")
    if not isinstance(value, dict):
        _bad_arguments('--filter must be a JSON object, e.g. {"SOURCE_ID": "WEB"}')
    return value


def _bad_arguments(message: str) -> NoReturn:
    fail(message, EXIT_CONFIG)


def _print(validation: Validation) -> None:
    check, marks = validation.check, validation.marks
    out = Console()
    figures = Table("figure", "value", title="Broadcast validation (nothing was sent)")
    figures.add_row("recipients", str(len(check.valid) + len(check.invalid)))
    figures.add_row("valid", str(len(check.valid)))
    figures.add_row("invalid", str(len(check.invalid)))
    for reason, count in check.invalid_by_reason().items():
        figures.add_row(f"  {reason}", str(count))
    figures.add_row("encoding", check.measure.encoding)
    figures.add_row("SMS per message", str(check.measure.segments))
    figures.add_row("total cost", f"{check.total_cost} ₽")
    figures.add_row("SMS.ru cost calls", str(check.cost_calls))
    if marks is not None:
        figures.add_row("CRM items marked / cleared", f"{marks.marked} / {marks.cleared}")
    figures.add_row("cleaned list", str(validation.output_csv))
    figures.add_row("invalid list", str(validation.invalid_csv))
    out.print(figures)
    if check.invalid:
        invalid = Table("where", "phone", "reason", "detail", title="Invalid numbers")
        for item in check.invalid[:SHOWN_INVALID]:
            invalid.add_row(item.recipient.where, item.recipient.phone, item.reason, item.detail)
        out.print(invalid)
        if len(check.invalid) > SHOWN_INVALID:
            out.print(
                f"… and {len(check.invalid) - SHOWN_INVALID} more in {validation.invalid_csv}"
            )
