"""`sync-stop-list` (hourly): each portal's stop list in step with its SMS.ru account's own."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prefect import flow
from sqlmodel import col, select

from clients.smsru.client import SmsRuClient
from models import Portal
from smsbridge.config import Settings
from smsbridge.policy.stop_list_sync import sync
from smsbridge.runtime import runtime


@flow(name="sync-stop-list", log_prints=True)
async def sync_stop_list(
    member_id: str | None = None, settings: Settings | None = None
) -> list[dict[str, Any]]:
    async with runtime(settings) as rt:
        statement = select(Portal).order_by(col(Portal.id))
        if member_id is not None:
            statement = statement.where(col(Portal.member_id) == member_id)
        async with rt.sessions() as session:
            portals = list((await session.exec(statement)).all())
        results = []
        for portal in portals:
            api_id = portal.smsru_api_id or rt.settings.smsru_key
            if not api_id:
                print(f"{portal.member_id}: no SMS.ru key; skipped")
                continue
            smsru = SmsRuClient(api_id, base_url=rt.settings.smsru_base, http=rt.http)
            results.append(await sync(rt.sessions, smsru, portal))
    for r in results:
        print(
            f"{r.member_id}: +{r.added_here} here, +{r.added_there} at SMS.ru, "
            f"-{r.removed_here} here, -{r.removed_there} at SMS.ru"
        )
    return [asdict(r) for r in results]
