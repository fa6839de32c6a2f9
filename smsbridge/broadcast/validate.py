"""Checking a broadcast's recipients and pricing it; it never sends.

Recipients come from a CSV file or from a CRM selection of the portal. The result is a cleaned CSV
(the valid numbers in E.164, with their columns, cost and parts) and a CSV of the invalid ones with
reasons; with `mark_invalid` the reasons are also written on the CRM items. The
`validate-broadcast` flow and command both run `validate()`.
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import select

from clients.bitrix24.client import Bitrix24Client
from models import Portal
from smsbridge.broadcast import marks as invalid_marks
from smsbridge.broadcast.check import BroadcastCheck, check_broadcast, measure_text
from smsbridge.broadcast.recipients import CRM_ENTITIES, Recipient, from_crm, from_csv
from smsbridge.portals.client import portal_client
from smsbridge.portals.lookup import find
from smsbridge.portals.smsru import smsru_client_for, smsru_sender
from smsbridge.progress import ProgressCallback
from smsbridge.runtime import Runtime

REPORTS = Path("reports")


@dataclass(frozen=True, slots=True)
class Validation:
    check: BroadcastCheck
    output_csv: Path
    invalid_csv: Path
    marks: invalid_marks.MarkSummary | None

    def summary(self) -> dict[str, Any]:
        marks = self.marks
        return self.check.summary() | {
            "output_csv": str(self.output_csv),
            "invalid_csv": str(self.invalid_csv),
            "crm_marks": None
            if marks is None
            else {
                "field_created": marks.field_created,
                "marked": marks.marked,
                "cleared": marks.cleared,
                "failed": len(marks.failed),
            },
        }


async def validate(
    rt: Runtime,
    text: str,
    *,
    csv_path: str | Path | None = None,
    crm_entity: str | None = None,
    crm_filter: Mapping[str, Any] | None = None,
    member_id: str | None = None,
    output_csv: str | Path | None = None,
    mark_invalid: bool = False,
    on_progress: ProgressCallback | None = None,
) -> Validation:
    """Check, write the CSVs, mark the CRM items if asked. Bad arguments raise `ValueError`
    (or `LookupError` for an unknown portal) before anything is asked of anyone."""
    measure_text(text)
    if (csv_path is None) == (crm_entity is None):
        raise ValueError("give exactly one source of recipients: a CSV file or a CRM entity")
    if crm_entity is not None and crm_entity not in CRM_ENTITIES:
        raise ValueError(f"CRM entity must be one of {', '.join(CRM_ENTITIES)}, not {crm_entity!r}")
    if mark_invalid and crm_entity is None:
        raise ValueError("marking invalid numbers needs a CRM selection, not a CSV file")
    output = Path(output_csv) if output_csv else _default_output()

    portal = await _portal(rt, member_id, required=crm_entity is not None)
    smsru = smsru_client_for(portal, rt.settings, rt.http)
    sender = smsru_sender(portal, rt.settings)

    client: Bitrix24Client | None = None
    if csv_path is not None:
        recipients = await asyncio.to_thread(from_csv, csv_path)
    else:
        assert crm_entity is not None and portal is not None and portal.id is not None  # see above
        client = portal_client(rt.sessions, rt.settings, rt.http, portal.id)
        extra = (invalid_marks.FIELD,) if mark_invalid else ()
        selection = from_crm(client, crm_entity, crm_filter or {}, extra_fields=extra)
        recipients = [recipient async for recipient in selection]

    check = await check_broadcast(
        recipients, text, sessions=rt.sessions, smsru=smsru, sender=sender, on_progress=on_progress
    )
    invalid_csv = output.with_name(f"{output.stem}-invalid{output.suffix or '.csv'}")
    await asyncio.to_thread(write_csvs, check, output, invalid_csv)
    marks = None
    if client is not None and mark_invalid:
        marks = await invalid_marks.mark_invalid(client, check)
    return Validation(check, output, invalid_csv, marks)


async def _portal(rt: Runtime, member_id: str | None, *, required: bool) -> Portal | None:
    """The portal named, else the only one stored; without a CRM source none is needed."""
    async with rt.sessions() as session:
        if member_id is not None:
            return await find(session, member_id)
        portals = (await session.exec(select(Portal).limit(2))).all()
    if len(portals) == 1:
        return portals[0]
    if required:
        problem = "no portal is stored" if not portals else "several portals are stored"
        raise LookupError(f"{problem}: name the portal by its member_id")
    return None


def _default_output() -> Path:
    return REPORTS / f"validate-broadcast-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.csv"


def write_csvs(check: BroadcastCheck, output: Path, invalid_csv: Path) -> None:
    """The valid rows (E.164, carried columns, cost, parts) and the invalid rows with reasons.

    UTF-8 with a BOM, so that Excel shows Cyrillic names right; our own reader accepts it.
    """
    carried = _columns([*(v.recipient for v in check.valid), *(i.recipient for i in check.invalid)])
    output.parent.mkdir(parents=True, exist_ok=True)
    _write(
        output,
        ["phone", *carried, "cost", "segments"],
        (
            {"phone": v.e164, **v.recipient.columns, "cost": str(v.cost), "segments": v.segments}
            for v in check.valid
        ),
    )
    _write(
        invalid_csv,
        ["where", "phone", "e164", "reason", "detail", *carried],
        (
            {**i.recipient.columns, **invalid_row(i.recipient, i.e164, i.reason, i.detail)}
            for i in check.invalid
        ),
    )


def invalid_row(recipient: Recipient, e164: str | None, reason: str, detail: str) -> dict[str, str]:
    return {
        "where": recipient.where,
        "phone": recipient.phone,
        "e164": e164 or "",
        "reason": reason,
        "detail": detail,
    }


def _columns(recipients: Iterable[Recipient]) -> list[str]:
    names: dict[str, None] = {}
    for recipient in recipients:
        names |= dict.fromkeys(recipient.columns)
    return list(names)


def _write(path: Path, header: Sequence[str], rows: Iterable[Mapping[str, object]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as file:
        writer = csv.DictWriter(file, header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
