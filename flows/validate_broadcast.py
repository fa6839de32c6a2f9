"""`validate-broadcast`: check a broadcast's recipients and price it, on demand; it never sends.

The work is `smsbridge.broadcast.validate.validate`; this flow shows the SMS.ru cost calls as a
progress artifact and publishes the summary and the invalid numbers as keyed artifacts.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.artifacts import ProgressArtifact, publish_markdown, publish_table
from smsbridge.broadcast import marks as invalid_marks
from smsbridge.broadcast.check import BroadcastCheck
from smsbridge.broadcast.validate import Validation, invalid_row, validate
from smsbridge.config import Settings
from smsbridge.runtime import runtime

SUMMARY_KEY = "validate-broadcast-summary"
INVALID_KEY = "validate-broadcast-invalid"
PROGRESS_KEY = "validate-broadcast-progress"
TABLE_ROWS = 1000  # the invalid-numbers artifact shows this many; the invalid CSV has them all


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
        f" | {check.total_cost} ₽ | {check.cost_calls} |",
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
        invalid_row(i.recipient, i.e164, i.reason, i.detail) for i in check.invalid[:TABLE_ROWS]
    ]


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
            on_progress=ProgressArtifact(PROGRESS_KEY, "SMS.ru cost calls done"),
        )
    check = validation.check
    await publish_markdown(SUMMARY_KEY, summary_markdown(validation), "Broadcast validation")
    described = f"Invalid numbers ({len(check.invalid)}"
    described += f"; the first {TABLE_ROWS} here)" if len(check.invalid) > TABLE_ROWS else ")"
    await publish_table(INVALID_KEY, invalid_rows(check), described)
    print(
        f"{len(check.valid)} valid, {len(check.invalid)} invalid; total cost {check.total_cost} ₽;"
        f" cleaned list in {validation.output_csv}"
    )
    if validation.marks is not None:
        validation.marks.raise_if_failed()
    return validation.summary()
