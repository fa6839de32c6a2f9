"""`validate-broadcast`: check a broadcast's recipients and price it, on demand; it never sends.

Recipients come from a CSV file or from a CRM selection of the portal. The result is a cleaned CSV
(the valid numbers in E.164, with their columns, cost and parts), a CSV of the invalid ones with
reasons, and two keyed artifacts; with `mark_invalid` the reasons are also written on the CRM items.
`validate()` is the plain function behind the flow, which the CLI runs with its own progress bar.
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow
from sqlmodel import select

from clients.bitrix24.client import Bitrix24Client
from clients.smsru.client import SmsRuClient
from flows.artifacts import Progress, publish_markdown, publish_table
from models import Portal
from smsbridge import invalid_marks
from smsbridge.broadcast_check import (
    BroadcastCheck,
    ProgressCallback,
    check_broadcast,
    measure_text,
)
from smsbridge.config import Settings
from smsbridge.logs import register_secret
from smsbridge.portal_client import portal_client
from smsbridge.recipients import CRM_ENTITIES, Recipient, from_crm, from_csv
from smsbridge.runtime import Runtime, runtime

SUMMARY_KEY = "validate-broadcast-summary"
INVALID_KEY = "validate-broadcast-invalid"
PROGRESS_KEY = "validate-broadcast-progress"
TABLE_ROWS = 1000  # the invalid-numbers artifact shows this many; the invalid CSV has them all
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
    api_id = (portal.smsru_api_id if portal else None) or rt.settings.smsru_key
    if not api_id:
        raise ValueError("no SMS.ru key: set SMSRU_API_ID or the portal's own key")
    register_secret(api_id)
    smsru = SmsRuClient(api_id, base_url=rt.settings.smsru_base, http=rt.http)
    sender = (portal.smsru_sender if portal else None) or rt.settings.smsru_sender

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
            portal = (
                await session.exec(select(Portal).where(Portal.member_id == member_id))
            ).first()
            if portal is None:
                raise LookupError(f"no portal {member_id} is stored")
            return portal
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
            {**i.recipient.columns, **_invalid_row(i.recipient, i.e164, i.reason, i.detail)}
            for i in check.invalid
        ),
    )


def _invalid_row(
    recipient: Recipient, e164: str | None, reason: str, detail: str
) -> dict[str, str]:
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


def summary_markdown(validation: Validation) -> str:
    check, marks = validation.check, validation.marks
    encoding = {"gsm7": "GSM-7", "ucs2": "UCS-2"}[check.measure.encoding]
    lines = [
        "# Broadcast validation",
        "",
        f"The text is {check.measure.segments} SMS per message ({encoding},"
        f" {check.measure.units} characters). Nothing was sent.",
        "",
        "| recipients | valid | invalid | total cost | cost calls |",
        "|---|---|---|---|---|",
        f"| {len(check.valid) + len(check.invalid)} | {len(check.valid)} | {len(check.invalid)}"
        f" | {check.total_cost} RUB | {check.cost_calls} |",
        "",
    ]
    if check.invalid:
        lines += ["## Invalid numbers by reason", "", "| reason | numbers |", "|---|---|"]
        lines += [f"| {reason} | {count} |" for reason, count in check.invalid_by_reason().items()]
        lines.append("")
    if check.segment_mismatches:
        lines += [
            f"SMS.ru counts a different number of parts for {check.segment_mismatches} numbers;"
            " the cost is SMS.ru's.",
            "",
        ]
    if marks is not None:
        created = " (the field was created)" if marks.field_created else ""
        lines += [
            f"CRM: {marks.marked} items marked in `{invalid_marks.FIELD}`{created},"
            f" {marks.cleared} marks cleared, {len(marks.failed)} failed.",
            "",
        ]
    lines.append(
        f"Cleaned list: `{validation.output_csv}`; invalid list: `{validation.invalid_csv}`."
    )
    return "\n".join(lines) + "\n"


def invalid_rows(check: BroadcastCheck) -> list[dict[str, str]]:
    return [
        _invalid_row(i.recipient, i.e164, i.reason, i.detail) for i in check.invalid[:TABLE_ROWS]
    ]


class _ProgressArtifact:
    """The Progress artifact, made once the number of cost calls is known."""

    def __init__(self) -> None:
        self._progress: Progress | None = None

    async def __call__(self, done: int, total: int) -> None:
        if self._progress is None:
            self._progress = Progress(PROGRESS_KEY, "SMS.ru cost calls done", total)
        await self._progress.update(done)


@flow(name="validate-broadcast", log_prints=True)
async def validate_broadcast(
    text: str,
    csv_path: str | None = None,
    crm_entity: str | None = None,
    crm_filter: dict[str, Any] | None = None,
    member_id: str | None = None,
    output_csv: str | None = None,
    mark_invalid: bool = False,
    settings: Settings | None = None,
) -> dict[str, Any]:
    async with runtime(settings) as rt:
        validation = await validate(
            rt,
            text,
            csv_path=csv_path,
            crm_entity=crm_entity,
            crm_filter=crm_filter,
            member_id=member_id,
            output_csv=output_csv,
            mark_invalid=mark_invalid,
            on_progress=_ProgressArtifact(),
        )
    check = validation.check
    await publish_markdown(SUMMARY_KEY, summary_markdown(validation), "Broadcast validation")
    described = f"Invalid numbers ({len(check.invalid)}"
    described += f"; the first {TABLE_ROWS} here)" if len(check.invalid) > TABLE_ROWS else ")"
    await publish_table(INVALID_KEY, invalid_rows(check), described)
    print(
        f"{len(check.valid)} valid, {len(check.invalid)} invalid; total cost {check.total_cost};"
        f" cleaned list in {validation.output_csv}"
    )
    if validation.marks is not None:
        validation.marks.raise_if_failed()
    return validation.summary()
