"""A portal's stop list kept in step with its SMS.ru account's own (`/stoplist/get|add|del`).

Both ways: a number added on either side is added on the other; a number removed on either side
since the last run (the set then is kept as a checkpoint) is removed on the other. SMS.ru's list
makes SMS.ru itself refuse (209, nothing charged) sends that bypass us; ours keeps the reason.
Portals sharing one SMS.ru key share its list.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from clients.smsru.client import SmsRuClient
from models import Checkpoint, Portal
from models.types import utcnow
from smsbridge.policy import stop_list

FROM_SMSRU = "on the SMS.ru account's stop list"


@dataclass
class StopListSync:
    member_id: str
    added_here: int = 0
    added_there: int = 0
    removed_here: int = 0
    removed_there: int = 0


async def sync(
    sessions: async_sessionmaker[AsyncSession], smsru: SmsRuClient, portal: Portal
) -> StopListSync:
    assert portal.id is not None
    result = StopListSync(portal.member_id)
    key = f"sync-stop-list:{portal.member_id}"
    remote = {"+" + phone: note for phone, note in (await smsru.stoplist()).items()}
    async with sessions() as session:
        local = {e.phone: e.reason for e in await stop_list.entries(session, portal.id)}
        checkpoint = await session.get(Checkpoint, key)
        last = set(checkpoint.value.get("phones", [])) if checkpoint else set()
    for phone in sorted(last - set(local)):  # removed here since: remove there
        if phone in remote:
            await smsru.remove_from_stoplist(phone.removeprefix("+"))
            del remote[phone]
            result.removed_there += 1
    async with sessions() as session:
        for phone in sorted((last & set(local)) - set(remote)):  # removed there: remove here
            result.removed_here += await stop_list.remove(session, portal.id, phone)
            del local[phone]
        for phone in sorted(set(remote) - set(local)):
            reason = remote[phone] or FROM_SMSRU
            result.added_here += await stop_list.add(session, portal.id, phone, reason, "sync")
            local[phone] = reason
        await session.commit()
    for phone in sorted(set(local) - set(remote)):
        await smsru.add_to_stoplist(phone.removeprefix("+"), local[phone][:200])
        result.added_there += 1
    async with sessions() as session:
        row = await session.get(Checkpoint, key) or Checkpoint(key=key)
        row.value, row.updated_at = {"phones": sorted(local)}, utcnow()
        session.add(row)
        await session.commit()
    return result
