"""Which SMS.ru account a portal uses: its own key and sender, else the service's."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
import pytest
from pydantic import SecretStr
from support import SMSRU_KEY

from models import Portal
from sandbox.smsru import SmsRuEmulator
from smsbridge.config import Settings
from smsbridge.logs import redact
from smsbridge.portals.smsru import (
    NO_KEY,
    NoSmsRuKey,
    smsru_client_for,
    smsru_key,
    smsru_sender,
    smsru_test,
)

OWN_KEY = "portal-own-smsru-key-5678"


@pytest.fixture
def service(settings: Settings) -> Settings:
    """The service's own account: SMSRU_API_ID and SMSRU_SENDER."""
    return settings.replace(smsru_api_id=SecretStr(SMSRU_KEY), smsru_sender="SERVICE")


def own(key: str | None = OWN_KEY, sender: str | None = "SHOP") -> Portal:
    return Portal(member_id="m1", smsru_api_id=key, smsru_sender=sender)


def test_a_portals_own_key_and_sender_come_first(service: Settings) -> None:
    assert (smsru_key(own(), service), smsru_sender(own(), service)) == (OWN_KEY, "SHOP")


def test_without_its_own_a_portal_uses_the_services(service: Settings) -> None:
    portal = own(key=None, sender=None)
    assert (smsru_key(portal, service), smsru_sender(portal, service)) == (SMSRU_KEY, "SERVICE")
    assert (smsru_key(None, service), smsru_sender(None, service)) == (SMSRU_KEY, "SERVICE")


def test_no_key_anywhere_is_none_or_a_configuration_error(settings: Settings) -> None:
    portal = own(key=None, sender=None)
    assert (smsru_key(portal, settings), smsru_sender(portal, settings)) == (None, None)
    with pytest.raises(NoSmsRuKey) as refused:
        smsru_client_for(portal, settings, httpx.AsyncClient())
    assert str(refused.value) == NO_KEY
    assert isinstance(refused.value, ValueError)  # commands answer it with exit 2


def test_the_client_asks_the_chosen_account_at_smsru_api_url(
    service: Settings, smsru: SmsRuEmulator
) -> None:
    if not smsru.knows(OWN_KEY):
        smsru.add_account(OWN_KEY, balance=Decimal("42"))

    async def balances() -> tuple[Decimal, Decimal]:
        async with httpx.AsyncClient() as http:
            mine = await smsru_client_for(own(), service, http).balance()
            shared = await smsru_client_for(own(key=None), service, http).balance()
            return mine, shared

    assert asyncio.run(balances()) == (Decimal("42"), Decimal("100000"))


def test_the_chosen_key_is_masked_in_logs(service: Settings) -> None:
    key = "a-key-only-this-test-knows-0001"
    smsru_client_for(own(key=key), service, httpx.AsyncClient())
    assert key not in redact(f"calling SMS.ru with api_id={key}")


def test_a_portals_own_test_mode_wins_over_smsru_test(service: Settings) -> None:
    testing = service.replace(smsru_test=True)
    follows, on, off = own(), own(), own()
    on.smsru_test, off.smsru_test = True, False
    assert [smsru_test(p, service) for p in (follows, on, off)] == [False, True, False]
    assert [smsru_test(p, testing) for p in (follows, on, off)] == [True, True, False]
    assert smsru_test(None, testing) is True
