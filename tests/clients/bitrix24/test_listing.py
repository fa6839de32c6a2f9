"""`list_batched` against the portal emulator over loopback: every row in ID order, and a limit
that asks only for the pages it needs, newest first."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from clients.bitrix24.client import Bitrix24Client
from clients.bitrix24.listing import list_batched
from clients.bitrix24.tokens import TokenPair
from sandbox.bitrix24.portal import PortalEmulator


class Tokens:
    def __init__(self, portal: PortalEmulator) -> None:
        issued = portal.issue_tokens()
        self.pair = TokenPair(
            issued["access_token"],
            issued["refresh_token"],
            datetime.now(UTC) + timedelta(hours=1),
            portal.client_endpoint,
        )

    async def current(self) -> TokenPair:
        return self.pair

    async def refreshed(self, stale: TokenPair) -> TokenPair:
        raise AssertionError("no refresh expected")


class NoLimit:
    async def acquire(self) -> None:
        pass

    async def penalize(self, seconds: float) -> None:
        pass


def listed(portal: PortalEmulator, **options: Any) -> list[int]:
    async def run() -> list[int]:
        async with httpx.AsyncClient() as http:
            client = Bitrix24Client(Tokens(portal), NoLimit(), http)
            rows = list_batched(client, "crm.deal.list", {"select": ["ID"]}, **options)
            return [int(row["ID"]) async for row in rows]

    return asyncio.run(run())


@pytest.mark.parametrize(
    ("options", "expected", "requests"),
    [
        ({}, list(range(1, 131)), ["crm.deal.list", "batch"]),
        ({"limit": 60, "newest_first": True}, list(range(130, 70, -1)), ["crm.deal.list", "batch"]),
        ({"limit": 20, "newest_first": True}, list(range(130, 110, -1)), ["crm.deal.list"]),
    ],
)
def test_pages_by_offset_in_a_batch(
    bitrix24: PortalEmulator, options: dict[str, Any], expected: list[int], requests: list[str]
) -> None:
    for n in range(130):
        bitrix24.add_deal(f"Deal {n}")
    assert listed(bitrix24, **options) == expected
    assert [r.method for r in bitrix24.request_log] == requests
