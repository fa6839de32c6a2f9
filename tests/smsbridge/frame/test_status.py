"""The account part of the page's status: figures, or a sentence when SMS.ru cannot tell."""

from __future__ import annotations

import asyncio

import httpx
from pydantic import SecretStr
from support import SMSRU_KEY

from models import Portal
from sandbox.smsru import SmsRuEmulator
from smsbridge.config import Settings
from smsbridge.frame.status import Account, key_hint, read_account


def read(settings: Settings, portal: Portal) -> Account:
    async def go() -> Account:
        async with httpx.AsyncClient() as http:
            return await read_account(http, settings, portal)

    return asyncio.run(go())


def test_the_account_is_read_and_its_key_masked(settings: Settings, smsru: SmsRuEmulator) -> None:
    account = read(settings, Portal(member_id="m", smsru_api_id=SMSRU_KEY))
    assert account.error is None and account.own_key
    assert account.balance == 100000 and account.senders == ["SMSBRIDGE"]
    assert account.key_hint == "…" + SMSRU_KEY[-4:] == key_hint(SMSRU_KEY)
    assert key_hint("short") == "…"


def test_no_key_a_refused_key_and_no_sms_ru_are_said_in_words(
    settings: Settings, smsru: SmsRuEmulator
) -> None:
    none = read(settings, Portal(member_id="m"))
    assert none.key_hint is None and "no SMS.ru key" in (none.error or "")
    refused = read(settings, Portal(member_id="m", smsru_api_id="unknown-key-000000"))
    assert (refused.error or "").startswith("SMS.ru refused:")
    away = settings.replace(smsru_api_url="http://127.0.0.1:9", smsru_api_id=SecretStr(SMSRU_KEY))
    unreachable = read(away, Portal(member_id="m"))
    assert "cannot be reached" in (unreachable.error or "")
    assert unreachable.key_hint and not unreachable.own_key
