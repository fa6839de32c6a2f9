"""The duplicate-send flag: `UF_CRM_SMS_SENT` (a datetime) on the deal or lead a robot texted about.

Recurring scenarios (a robot that re-fires on every stage change) check it to avoid texting a
client twice. It is written once SMS.ru has accepted the message, in `batch` calls within the
portal's rate limit; a failed write is left for the hourly `maintain-sent-flags` run to backfill.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from clients.bitrix24.client import MAX_BATCH, Bitrix24Client
from clients.bitrix24.errors import Bitrix24Error
from models import Message
from models.locks import lock_messages
from models.types import utcnow
from smsbridge.rules.origin import FLAGGED_ENTITIES
from smsbridge.status.states import ACCEPTED

FIELD = "UF_CRM_SMS_SENT"


@dataclass(frozen=True, slots=True)
class FlagWrite:
    pk: int
    entity_type: str
    entity_id: int
    sent_at: datetime


def flag_value(moment: datetime | None) -> str:
    """The field's value: ISO 8601 in UTC (empty clears the flag)."""
    return moment.isoformat(timespec="seconds") if moment else ""


async def ensure_fields(client: Bitrix24Client) -> list[str]:
    """Create the datetime user field on deals and leads where it is missing; where it was."""
    created = []
    for entity in sorted(FLAGGED_ENTITIES):
        listing = {"filter": {"FIELD_NAME": FIELD}}
        existing = await client.call(f"crm.{entity}.userfield.list", listing)
        if any(field.get("FIELD_NAME") == FIELD for field in existing or []):
            continue
        await client.call(
            f"crm.{entity}.userfield.add",
            {
                "fields": {
                    "FIELD_NAME": FIELD.removeprefix("UF_CRM_"),
                    "USER_TYPE_ID": "datetime",
                    "EDIT_FORM_LABEL": "SMS отправлено",
                    "LIST_COLUMN_LABEL": "SMS отправлено",
                    "SHOW_FILTER": "Y",
                }
            },
        )
        created.append(entity)
    return created


async def write(
    client: Bitrix24Client, writes: list[FlagWrite]
) -> tuple[list[FlagWrite], list[tuple[FlagWrite, str]]]:
    """Set the flags, ≤50 per batch; the writes that took and those refused (with the reason)."""
    done: list[FlagWrite] = []
    refused: list[tuple[FlagWrite, str]] = []
    for start in range(0, len(writes), MAX_BATCH):
        chunk = writes[start : start + MAX_BATCH]
        calls = {
            str(w.pk): (
                f"crm.{w.entity_type}.update",
                {"id": w.entity_id, "fields": {FIELD: flag_value(w.sent_at)}},
            )
            for w in chunk
        }
        try:
            answer = await client.batch(calls)
        except Bitrix24Error as exc:
            refused += [(w, f"Bitrix24: {exc}") for w in chunk]
            continue
        for w in chunk:
            error = answer.failure(str(w.pk))
            if error is None:
                done.append(w)
            else:
                refused.append((w, f"Bitrix24: {error}"))
    return done, refused


async def due(
    session: AsyncSession, portal_id: int, limit: int, *, backfill: bool
) -> list[FlagWrite]:
    """Flags to write now (`backfill`: those whose write failed before)."""
    wanted = (
        col(Message.flag_error).is_not(None) & col(Message.flag_written_at).is_(None)
        if backfill
        else col(Message.flag_pending).is_(True)
    )
    rows = (
        await session.execute(
            select(Message.id, Message.entity_type, Message.entity_id, Message.sent_at)
            .where(
                col(Message.portal_id) == portal_id,
                wanted,
                col(Message.state).in_(ACCEPTED),
                col(Message.entity_id).is_not(None),
                or_(*(col(Message.entity_type) == kind for kind in FLAGGED_ENTITIES)),
            )
            .order_by(col(Message.id))
            .limit(limit)
        )
    ).all()
    return [FlagWrite(r.id, r.entity_type, r.entity_id, r.sent_at or utcnow()) for r in rows]


async def record(
    session: AsyncSession, done: list[FlagWrite], refused: list[tuple[FlagWrite, str]]
) -> None:
    now = utcnow()
    await lock_messages(session, [w.pk for w in done] + [w.pk for w, _ in refused])
    for w in done:
        await session.execute(
            update(Message)
            .where(col(Message.id) == w.pk)
            .values(flag_pending=False, flag_written_at=now, flag_error=None)
        )
    for w, reason in refused:
        await session.execute(
            update(Message)
            .where(col(Message.id) == w.pk)
            .values(flag_pending=False, flag_error=reason[:1000])
        )
    await session.commit()


def flag_due_clause() -> object:
    """SQL condition: a message whose flag the pusher should write now."""
    return col(Message.flag_pending).is_(True) & col(Message.state).in_(ACCEPTED)
