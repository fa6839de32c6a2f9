"""Consent to marketing, read from the CRM: `UF_CRM_SMS_CONSENT` (datetime) on contacts and leads.

A number consents when some contact or lead carrying it has the field set; the local table keeps
which item said so and when consent was given — the evidence the law asks the sender for. Each
run reads only what changed since the last (`>DATE_MODIFY`), through `clients.bitrix24.listing`
(2,500 rows a request), and writes up to 500 items in one transaction of three statements. An
item whose field was cleared withdraws the consent it gave.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from clients.bitrix24.client import Bitrix24Client
from clients.bitrix24.listing import list_batched
from models import Consent, Portal
from models.insert import dialect_of, insert_replacing_conflicts
from models.types import utcnow
from smsbridge.rules.phones import PhoneError, to_e164

FIELD = "UF_CRM_SMS_CONSENT"
STORED_TOGETHER = 500  # items written together: one transaction of three statements
ENTITIES = ("contact", "lead")


@dataclass
class ConsentSync:
    read: int = 0  # items read
    given: int = 0  # numbers with consent stored or refreshed
    withdrawn: int = 0  # consents removed (the item's field was cleared)
    unreadable: int = 0  # phone values that are not exactly one number


async def ensure_fields(client: Bitrix24Client) -> list[str]:
    """Create the datetime field on contacts and leads where missing; where it was made."""
    created = []
    for entity in ENTITIES:
        existing = await client.call(
            f"crm.{entity}.userfield.list", {"filter": {"FIELD_NAME": FIELD}}
        )
        if any(field.get("FIELD_NAME") == FIELD for field in existing or []):
            continue
        label = "Согласие на SMS-рассылки"
        await client.call(
            f"crm.{entity}.userfield.add",
            {
                "fields": {
                    "FIELD_NAME": FIELD.removeprefix("UF_CRM_"),
                    "USER_TYPE_ID": "datetime",
                    "EDIT_FORM_LABEL": label,
                    "LIST_COLUMN_LABEL": label,
                    "SHOW_FILTER": "Y",
                }
            },
        )
        created.append(entity)
    return created


async def sync(
    sessions: async_sessionmaker[AsyncSession],
    client: Bitrix24Client,
    portal: Portal,
    *,
    full: bool = False,
) -> ConsentSync:
    """Bring the portal's consent table in step with its CRM (what changed since the last run)."""
    assert portal.id is not None
    since = None if full else portal.consent_synced_to
    zone = ZoneInfo(portal.timezone)
    # The CRM keeps whole seconds: only a second that had ended before reading began is wholly
    # read, so the mark never passes it and `>` it misses nothing.
    settled = utcnow().replace(microsecond=0) - timedelta(seconds=1)
    result = ConsentSync()
    high_water = since
    for entity in ENTITIES:
        params: dict[str, Any] = {"select": ["ID", "PHONE", FIELD, "DATE_MODIFY"]}
        if since is not None:
            params["filter"] = {">DATE_MODIFY": since.astimezone(zone).isoformat()}
        read: list[dict[str, Any]] = []
        async for item in list_batched(client, f"crm.{entity}.list", params):
            result.read += 1
            modified = _moment(item.get("DATE_MODIFY"))
            if modified is not None and (high_water is None or modified > high_water):
                high_water = modified
            read.append(item)
            if len(read) == STORED_TOGETHER:
                await _store(sessions, portal.id, entity, read, result)
        await _store(sessions, portal.id, entity, read, result)
    async with sessions() as session:
        await session.execute(
            update(Portal)
            .where(col(Portal.id) == portal.id)
            .values(consent_synced_to=min(high_water or settled, settled))
        )
        await session.commit()
    return result


async def _store(
    sessions: async_sessionmaker[AsyncSession],
    portal_id: int,
    entity: str,
    items: list[dict[str, Any]],
    result: ConsentSync,
) -> None:
    """What `items` say, in one short transaction (never held across a request) of at most three
    statements however many items there are: read their rows, delete the stale, upsert the rest;
    then forget them."""
    if not items:
        return
    claims = [_claim(item, result) for item in items]
    async with sessions() as session:
        held = await session.execute(
            select(col(Consent.phone), col(Consent.entity_id)).where(
                col(Consent.portal_id) == portal_id,
                col(Consent.entity_type) == entity,
                col(Consent.entity_id).in_({claim.entity_id for claim in claims}),
            )
        )
        dropped, written = _settle({phone: owner for phone, owner in held}, claims, result)
        if dropped:
            await session.execute(
                delete(Consent).where(
                    col(Consent.portal_id) == portal_id, col(Consent.phone).in_(dropped)
                )
            )
        if written:
            now = utcnow()
            upsert = insert_replacing_conflicts(dialect_of(session), Consent, "portal_id", "phone")
            rows = [
                {
                    "portal_id": portal_id,
                    "phone": phone,
                    "given_at": claim.given_at,
                    "entity_type": entity,
                    "entity_id": claim.entity_id,
                    "synced_at": now,
                }
                for phone, claim in written.items()
            ]
            await session.execute(upsert, rows)
        await session.commit()
    items.clear()


@dataclass(frozen=True)
class _Claim:
    """What one CRM item says: consent given when (none: not given) for which numbers."""

    entity_id: int
    given_at: datetime | None
    phones: frozenset[str]


def _claim(item: dict[str, Any], result: ConsentSync) -> _Claim:
    phones = set()
    for entry in item.get("PHONE") or []:
        try:
            phones.add(to_e164(str(entry.get("VALUE") or "")))
        except PhoneError:
            result.unreadable += 1
    return _Claim(int(item["ID"]), _moment(item.get(FIELD)), frozenset(phones))


def _settle(
    held: dict[str, int], claims: list[_Claim], result: ConsentSync
) -> tuple[set[str], dict[str, _Claim]]:
    """The claims applied one after another, in the CRM's order, to the rows `held` (phone → the
    item of this entity whose evidence the row is, for the claims' items): the phones whose row
    goes, and the rows to write (phone → the claim that wrote it last, so the later item wins)."""
    owner = dict(held)
    owned: dict[int, set[str]] = defaultdict(set)
    for phone, entity_id in owner.items():
        owned[entity_id].add(phone)
    dropped: set[str] = set()
    written: dict[str, _Claim] = {}
    for claim in claims:
        kept = claim.phones if claim.given_at is not None else frozenset()
        # What this item said before and no longer says (field cleared, phone removed) is withdrawn.
        stale = owned[claim.entity_id] - kept
        owned[claim.entity_id] -= stale
        for phone in stale:
            del owner[phone]
            written.pop(phone, None)
        dropped |= stale
        result.withdrawn += len(stale)
        for phone in kept:
            if (previous := owner.get(phone)) is not None:
                owned[previous].discard(phone)
            owner[phone] = claim.entity_id
            owned[claim.entity_id].add(phone)
            written[phone] = claim
        dropped -= kept
        result.given += len(kept)
    return dropped, written


def _moment(value: Any) -> datetime | None:
    """A CRM datetime ("2026-01-10T12:00:00+03:00"); empty or unreadable is none."""
    if not value or not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else None
