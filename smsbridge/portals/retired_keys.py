"""The SMS.ru keys a portal sent with before its current one (`models.retired_key`).

SMS.ru knows a message only under the account that sent it, so a status poll must ask with that
account's key and a callback comes signed with it. Each message keeps the fingerprint of its key;
this module keeps the key itself when an admin replaces it (or removes it, falling back to
`SMSRU_API_ID`), finds the key a message was sent with, and forgets a retired key once every
message sent with it has outlived polling (the hourly retention sweep deletes it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Portal, RetiredSmsRuKey
from models.insert import dialect_of, insert_replacing_conflicts
from models.types import utcnow
from smsbridge.config import Settings
from smsbridge.portals.smsru import smsru_key
from smsbridge.secret import key_fingerprint
from smsbridge.status.schedule import LIFETIME


async def retire_replaced_key(session: AsyncSession, portal: Portal, new_key: str | None) -> None:
    """Keep the portal's own key, which `new_key` replaces, for the messages sent with it (in
    the session's transaction: the caller commits it with the change)."""
    old = portal.smsru_api_id
    if not old or old == new_key or portal.id is None:
        return
    retired = {
        "portal_id": portal.id,
        "fingerprint": key_fingerprint(old),
        "api_id": old,
        "retired_at": utcnow(),
    }
    upsert = insert_replacing_conflicts(
        dialect_of(session), RetiredSmsRuKey, "portal_id", "fingerprint"
    )
    await session.execute(upsert.values(**retired))


@dataclass(frozen=True, slots=True)
class KeyRing:
    """Every key a message still polled may have been sent with: the portals' own keys, the
    service's, and the retired ones (by portal and fingerprint)."""

    settings: Settings
    retired: Mapping[tuple[int, str], str]

    def key_for(self, portal: Portal, fingerprint: str | None) -> str | None:
        """The key to ask SMS.ru with about a message of `portal` sent with the key whose
        fingerprint is `fingerprint` (None: sent before fingerprints were kept, so the portal's
        key now); a key no longer known falls back to the portal's key now."""
        current = smsru_key(portal, self.settings)
        if fingerprint is None:
            return current
        for key in (current, self.settings.smsru_key):
            if key and key_fingerprint(key) == fingerprint:
                return key
        assert portal.id is not None
        return self.retired.get((portal.id, fingerprint), current)


async def key_ring(session: AsyncSession, settings: Settings, now: datetime) -> KeyRing:
    """The keys to poll with: every retired key a message may still need."""
    rows = await session.execute(
        select(RetiredSmsRuKey).where(col(RetiredSmsRuKey.retired_at) >= now - LIFETIME)
    )
    retired = {(row.portal_id, row.fingerprint): row.api_id for row in rows.scalars()}
    return KeyRing(settings, retired)


async def forget_expired(session: AsyncSession, now: datetime) -> int:
    """Delete the retired keys no message can need any more (retention's hourly sweep; the
    caller commits); how many."""
    result = await session.execute(
        delete(RetiredSmsRuKey).where(col(RetiredSmsRuKey.retired_at) < now - LIFETIME)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def retired_api_ids(session: AsyncSession) -> set[str]:
    """The retired keys, which may still sign a callback."""
    return set((await session.execute(select(col(RetiredSmsRuKey.api_id)))).scalars())
