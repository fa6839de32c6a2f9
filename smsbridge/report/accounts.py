"""The SMS.ru accounts behind a report's portals: balance and daily limit, asked at report time."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx

from clients.smsru.errors import SmsRuError
from clients.transport import timeouts
from models import Portal
from smsbridge.config import Settings
from smsbridge.portals.smsru import smsru_client, smsru_key
from smsbridge.report.model import Account

ACCOUNT_TIMEOUT = timeouts(read=10.0)  # a report should not wait a minute for a balance


async def accounts(
    http: httpx.AsyncClient, settings: Settings, portals: Sequence[Portal]
) -> list[Account]:
    """Balance and daily limit per distinct SMS.ru key of `portals`, asked now (all at once)."""
    by_key: dict[str | None, list[str]] = {}
    for portal in portals:
        by_key.setdefault(smsru_key(portal, settings), []).append(portal.member_id)
    return list(
        await asyncio.gather(
            *(_account(http, settings, key, tuple(ids)) for key, ids in by_key.items())
        )
    )


async def _account(
    http: httpx.AsyncClient, settings: Settings, key: str | None, member_ids: tuple[str, ...]
) -> Account:
    if key is None:
        return Account(member_ids, True, None, None, None, "no SMS.ru key")
    shared = key == settings.smsru_key
    client = smsru_client(key, settings, http, ACCOUNT_TIMEOUT)
    try:
        balance, limit = await client.balance(), await client.limit()
    except SmsRuError as exc:
        return Account(member_ids, shared, None, None, None, f"unavailable: {exc}")
    return Account(member_ids, shared, balance, limit.total_limit, limit.used_today, None)
