"""Keeping the duplicate-send flags true: backfill failed writes, clear flags past retention."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from clients.bitrix24.client import MAX_BATCH, Bitrix24Client
from models import Portal
from models.types import utcnow
from smsbridge.logs import fields
from smsbridge.rules.origin import FLAGGED_ENTITIES
from smsbridge.runtime import Runtime
from smsbridge.sent_flag import flag as sent_flag

log = logging.getLogger("smsbridge.sent_flag.flag")

BACKFILL_LIMIT = 5000


@dataclass
class FlagMaintenance:
    member_id: str
    fields_created: list[str] = field(default_factory=list)
    backfilled: int = 0
    still_failing: int = 0
    cleared: int = 0


async def maintain(rt: Runtime, client: Bitrix24Client, portal: Portal) -> FlagMaintenance:
    assert portal.id is not None
    result = FlagMaintenance(portal.member_id)
    result.fields_created = await sent_flag.ensure_fields(client)
    async with rt.sessions() as session:
        writes = await sent_flag.due(session, portal.id, BACKFILL_LIMIT, backfill=True)
    if writes:
        done, refused = await sent_flag.write(client, writes)
        async with rt.sessions() as session:
            await sent_flag.record(session, done, refused)
        result.backfilled, result.still_failing = len(done), len(refused)
    if portal.sent_flag_retention_days:
        cutoff = utcnow() - timedelta(days=portal.sent_flag_retention_days)
        result.cleared = await _clear_older_than(client, sent_flag.flag_value(cutoff))
    log.info(
        "sent flags maintained %s",
        fields(
            portal=portal.member_id,
            backfilled=result.backfilled,
            still_failing=result.still_failing,
            cleared=result.cleared,
        ),
    )
    return result


async def _clear_older_than(client: Bitrix24Client, cutoff: str) -> int:
    """Empty the flag on every deal and lead whose flag is older than `cutoff`."""
    cleared = 0
    for entity in sorted(FLAGGED_ENTITIES):
        stale = [
            int(item["ID"])
            async for item in client.list_all(
                f"crm.{entity}.list",
                {"filter": {f"<{sent_flag.FIELD}": cutoff}, "select": ["ID", sent_flag.FIELD]},
            )
            if item.get(sent_flag.FIELD)
        ]
        for start in range(0, len(stale), MAX_BATCH):
            calls = {
                str(entity_id): (
                    f"crm.{entity}.update",
                    {"id": entity_id, "fields": {sent_flag.FIELD: ""}},
                )
                for entity_id in stale[start : start + MAX_BATCH]
            }
            answer = await client.batch(calls)
            cleared += len(answer.results)
    return cleared
