"""A portal's stop list: marketing never goes to a number on it (the contract's Policy).

Entries without a portal were stored before lists were per portal and apply to every portal.
"""

from __future__ import annotations

import csv
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from sqlalchemy import delete, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import StopListEntry
from smsbridge.rules.phones import PhoneError, to_e164

CHUNK = 500  # numbers per IN (…) query


async def listed(
    session: AsyncSession, portal_id: int | None, phones: Collection[str]
) -> dict[str, str]:
    """Which of the E.164 numbers are on the portal's stop list, with the reason stored there."""
    ordered = sorted(set(phones))
    found: dict[str, str] = {}
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        rows = await session.exec(
            select(StopListEntry.phone, StopListEntry.reason).where(
                col(StopListEntry.phone).in_(chunk), _of_portal(portal_id)
            )
        )
        found.update((phone, reason) for phone, reason in rows)
    return found


async def entries(session: AsyncSession, portal_id: int) -> list[StopListEntry]:
    rows = await session.exec(
        select(StopListEntry).where(_of_portal(portal_id)).order_by(col(StopListEntry.phone))
    )
    return list(rows)


async def add(session: AsyncSession, portal_id: int, phone: str, reason: str, origin: str) -> bool:
    """Put the E.164 number on the portal's list; False if it was there already. Not committed."""
    existing = await session.exec(
        select(StopListEntry).where(
            col(StopListEntry.portal_id) == portal_id, col(StopListEntry.phone) == phone
        )
    )
    if existing.first() is not None:
        return False
    session.add(StopListEntry(portal_id=portal_id, phone=phone, reason=reason[:500], origin=origin))
    await session.flush()
    return True


async def remove(session: AsyncSession, portal_id: int, phone: str) -> bool:
    """Take the number off the portal's list; False if it was not there. Not committed."""
    result = await session.execute(
        delete(StopListEntry).where(
            col(StopListEntry.portal_id) == portal_id, col(StopListEntry.phone) == phone
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


@dataclass
class CsvNumbers:
    """The numbers of a CSV file (the phone in the first column), and the lines skipped."""

    phones: list[str] = field(default_factory=list)  # E.164, in file order
    skipped: list[tuple[int, str, str]] = field(default_factory=list)  # (line, reason, value)


def read_csv(lines: Iterable[str]) -> CsvNumbers:
    """A first line that is not a phone is a header, not a mistake."""
    read = CsvNumbers()
    for line, row in enumerate(csv.reader(lines), 1):
        if not row or not row[0].strip():
            continue
        try:
            read.phones.append(to_e164(row[0]))
        except PhoneError as exc:
            if line > 1:
                read.skipped.append((line, exc.reason, row[0]))
    return read


async def add_many(
    session: AsyncSession, portal_id: int, phones: Iterable[str], reason: str, origin: str
) -> int:
    """Put every number on the list; how many were not there yet. Not committed."""
    added = 0
    for phone in dict.fromkeys(phones):
        added += await add(session, portal_id, phone, reason, origin)
    return added


def _of_portal(portal_id: int | None):  # type: ignore[no-untyped-def]
    if portal_id is None:
        return col(StopListEntry.portal_id).is_(None)
    return or_(col(StopListEntry.portal_id) == portal_id, col(StopListEntry.portal_id).is_(None))
