"""The SMS.ru accounts behind the reported portals, asked of the SMS.ru emulator: one per key."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
from pydantic import SecretStr
from report_support import MOSCOW, REPORT_KEY, VLADIVOSTOK
from support import SMSRU_KEY

from models import Portal
from sandbox.smsru import SmsRuEmulator
from smsbridge.config import Settings
from smsbridge.report.accounts import accounts
from smsbridge.report.model import Account


def ask(settings: Settings, portals: list[Portal]) -> list[Account]:
    async def run() -> list[Account]:
        async with httpx.AsyncClient() as http:
            return await accounts(http, settings, portals)

    return asyncio.run(run())


def test_a_portals_own_key_and_a_portal_without_any(
    settings: Settings, smsru: SmsRuEmulator
) -> None:
    if not smsru.knows(REPORT_KEY):
        smsru.add_account(REPORT_KEY, daily_limit=500)
    smsru.set_balance(REPORT_KEY, Decimal("123.45"))
    portals = [
        Portal(member_id=MOSCOW, smsru_api_id=REPORT_KEY),
        Portal(member_id=VLADIVOSTOK, smsru_api_id=None),
    ]

    found = ask(settings.replace(smsru_api_id=None), portals)

    assert found == [
        Account((MOSCOW,), False, Decimal("123.45"), 500, 0, None),
        Account((VLADIVOSTOK,), True, None, None, None, "no SMS.ru key"),
    ]
    assert found[0].title == "portal's own account"


def test_portals_on_the_shared_key_are_one_account(
    settings: Settings, smsru: SmsRuEmulator
) -> None:
    portals = [Portal(member_id=MOSCOW), Portal(member_id=VLADIVOSTOK)]

    found = ask(settings.replace(smsru_api_id=SecretStr(SMSRU_KEY)), portals)

    assert found == [Account((MOSCOW, VLADIVOSTOK), True, Decimal("100000"), None, 0, None)]
    assert found[0].title == "shared account"
