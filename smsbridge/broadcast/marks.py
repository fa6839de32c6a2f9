"""Why a CRM item's numbers cannot take an SMS, written on the item (`UF_CRM_SMS_INVALID`).

Managers see it on the card and can filter a campaign's segment by it. The field is created on
first use. Each item gets the reasons of all its bad numbers, and an item whose numbers are all
fine again loses a mark written earlier; an item whose mark is already right is not written, so a
second run over the same selection spends none of the portal's REST budget.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from clients.bitrix24.client import MAX_BATCH, Bitrix24Client
from clients.bitrix24.errors import Bitrix24Error
from smsbridge.broadcast.check import BroadcastCheck, Invalid
from smsbridge.broadcast.recipients import CrmRef

FIELD_NAME = "SMS_INVALID"
FIELD = f"UF_CRM_{FIELD_NAME}"
LABEL = "SMS: номер не подходит"


class MarkingIncomplete(Exception):
    """Some items could not be marked; the validation itself is complete."""


@dataclass(frozen=True, slots=True)
class MarkSummary:
    field_created: bool
    marked: int  # items given (new) reasons
    cleared: int  # items whose earlier mark was removed
    failed: dict[str, str] = field(default_factory=dict)  # "contact_12" → Bitrix24's error

    def raise_if_failed(self) -> None:
        if self.failed:
            first = "; ".join(f"{item}: {error}" for item, error in list(self.failed.items())[:3])
            raise MarkingIncomplete(f"{len(self.failed)} CRM items were not marked ({first})")


async def ensure_field(client: Bitrix24Client, entity: str) -> bool:
    """Create the string field on `entity` unless it exists; whether it was created."""
    if await _field_exists(client, entity):
        return False
    fields = {"FIELD_NAME": FIELD_NAME, "USER_TYPE_ID": "string", "LABEL": LABEL}
    try:
        await client.call(f"crm.{entity}.userfield.add", {"fields": fields})
    except Bitrix24Error:
        # A retried add that had gone through, or another run that just created it.
        if await _field_exists(client, entity):
            return False
        raise
    return True


async def _field_exists(client: Bitrix24Client, entity: str) -> bool:
    found = await client.call(f"crm.{entity}.userfield.list", {"filter": {"FIELD_NAME": FIELD}})
    return bool(found)


async def mark_invalid(client: Bitrix24Client, check: BroadcastCheck) -> MarkSummary:
    """Write each checked CRM item's reasons, or clear its mark; `batch` calls of 50 updates."""
    checked = [*(v.recipient for v in check.valid), *(i.recipient for i in check.invalid)]
    refs = {_key(r.crm): r.crm for r in checked if r.crm is not None}
    reasons: dict[str, list[str]] = defaultdict(list)
    for invalid in check.invalid:
        if invalid.recipient.crm is not None:
            reasons[_key(invalid.recipient.crm)].append(_describe(invalid))
    created = False
    for entity in sorted({ref.entity for ref in refs.values()}):
        created = await ensure_field(client, entity) or created
    marks = {key: "; ".join(reasons.get(key, [])) for key in refs}
    writes = [key for key, ref in refs.items() if marks[key] != (ref.fields.get(FIELD) or "")]
    failed: dict[str, str] = {}
    for start in range(0, len(writes), MAX_BATCH):
        calls = {
            key: (
                f"crm.{refs[key].entity}.update",
                {"id": refs[key].id, "fields": {FIELD: marks[key]}},
            )
            for key in writes[start : start + MAX_BATCH]
        }
        result = await client.batch(calls)
        for key in calls:
            if (error := result.failure(key)) is not None:
                failed[key] = str(error)
    done = [key for key in writes if key not in failed]
    return MarkSummary(
        field_created=created,
        marked=sum(1 for key in done if marks[key]),
        cleared=sum(1 for key in done if not marks[key]),
        failed=failed,
    )


def _key(ref: CrmRef) -> str:
    """The item's batch key and its name in reports: `contact_12`."""
    return f"{ref.entity}_{ref.id}"


def _describe(invalid: Invalid) -> str:
    detail = f" ({invalid.detail})" if invalid.detail else ""
    return f"{invalid.recipient.phone}: {invalid.reason}{detail}"
