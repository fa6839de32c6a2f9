"""A portal whose admin changes its SMS.ru key still learns what the old key sent: the poll asks
with the key each message was sent with, a callback signed with the old key still applies, and
the old key is forgotten once its messages have outlived polling."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pydantic import SecretStr
from sqlalchemy import Engine
from sqlmodel import Session, select
from support import MEMBER_ID, SECRET, Webhook, wait_for
from support.polling import poll_now

from clients.smsru.callbacks import signed_form, status_record
from models import Message, Portal, RetiredSmsRuKey
from models.types import utcnow
from sandbox.bitrix24.portal import PortalEmulator
from sandbox.smsru import SmsRuEmulator
from sandbox.smsru.state import FINAL_CODES
from smsbridge.config import Settings
from smsbridge.endpoints import callback_path
from smsbridge.frame.changes import change_key
from smsbridge.portals.lifecycle import erase_expired, forget
from smsbridge.portals.lookup import find_or_none
from smsbridge.portals.retired_keys import KeyRing, key_ring
from smsbridge.runtime import runtime
from smsbridge.secret import key_fingerprint
from smsbridge.status.schedule import LIFETIME

FIRST_KEY = "retired-keys-first-AAAA-1111"
SECOND_KEY = "retired-keys-second-BBBB-2222"


def retired(engine: Engine) -> dict[str, str]:
    with Session(engine) as session:
        return {row.fingerprint: row.api_id for row in session.exec(select(RetiredSmsRuKey))}


def send_one(webhook: Webhook, bitrix24: PortalEmulator, phone: str) -> Message:
    bitrix24.send_message("crm", phone, "ключ")
    wait_for(lambda: any(m.recipient == phone and m.sms_id for m in webhook.messages()))
    return next(m for m in webhook.messages() if m.recipient == phone)


def test_a_changed_key_still_brings_the_statuses_of_what_the_old_keys_sent(
    installed: Webhook,
    installed_settings: Settings,
    bitrix24: PortalEmulator,
    smsru: SmsRuEmulator,
) -> None:
    smsru.callbacks_enabled = False  # statuses come by the poll and by the callback posted here
    for key in (FIRST_KEY, SECOND_KEY):
        if not smsru.knows(key):
            smsru.add_account(key)

    async def change(key: str) -> None:
        async with runtime(installed_settings) as rt, rt.sessions() as session:
            portal = await find_or_none(session, MEMBER_ID)
            assert portal is not None
            await change_key(session, rt.http, rt.settings, portal, key, SECRET)

    by_service = send_one(installed, bitrix24, "+79255070601")  # SMSRU_API_ID's account
    asyncio.run(change(FIRST_KEY))
    by_first = send_one(installed, bitrix24, "+79255070602")
    asyncio.run(change(SECOND_KEY))
    by_second = send_one(installed, bitrix24, "+79255070603")
    sent_with = {m.recipient: m.smsru_key for m in (by_service, by_first, by_second)}
    assert len(set(sent_with.values())) == 3
    assert retired(installed.engine) == {key_fingerprint(FIRST_KEY): FIRST_KEY}

    # SMS.ru calls back about the first key's message, signed with that key: it applies.
    signed = signed_form(FIRST_KEY, [status_record(by_first.sms_id or "", 103)])
    answer = installed.http.post(callback_path(SECRET), data=signed)
    assert (answer.status_code, answer.text) == (200, "100")
    assert {m.recipient: m.state for m in installed.messages()}["+79255070602"] == "delivered"

    # The poll asks each account about its own messages.
    wait_for(lambda: all(smsru.status_of(s.sms_id) in FINAL_CODES for s in smsru.sent))
    summary = poll_now(installed_settings, installed.engine)
    # Three asked (the one delivered by its callback, for its price); asked with SECOND_KEY, the
    # other two would be "not found" (-1) and stay "sent", and no price would come.
    assert (summary.polled, summary.advanced, summary.failed_calls) == (3, 2, 0)
    assert {(m.state, m.cost is not None) for m in installed.messages()} == {("delivered", True)}


def test_a_retired_key_is_kept_while_its_messages_may_be_polled(
    engine: Engine, settings: Settings, portal: Portal
) -> None:
    with Session(engine) as session:
        session.add(
            RetiredSmsRuKey(
                portal_id=portal.id, fingerprint=key_fingerprint(FIRST_KEY), api_id=FIRST_KEY
            )
        )
        session.commit()

    async def ring(at: timedelta) -> KeyRing:
        async with runtime(settings) as rt, rt.sessions() as session:
            return await key_ring(session, rt.settings, utcnow() + at)

    async def sweep(at: timedelta) -> None:
        async with runtime(settings) as rt, rt.sessions() as session:
            await erase_expired(session, utcnow() + at)

    kept = asyncio.run(ring(LIFETIME - timedelta(minutes=1)))
    assert kept.key_for(portal, key_fingerprint(FIRST_KEY)) == FIRST_KEY
    asyncio.run(sweep(LIFETIME - timedelta(minutes=1)))
    assert retired(engine) == {key_fingerprint(FIRST_KEY): FIRST_KEY}
    outlived = asyncio.run(ring(LIFETIME + timedelta(minutes=1)))
    assert outlived.key_for(portal, key_fingerprint(FIRST_KEY)) == portal.smsru_api_id
    asyncio.run(sweep(LIFETIME + timedelta(minutes=1)))  # retention's hourly sweep
    assert retired(engine) == {}


def test_forgetting_a_portal_forgets_its_retired_keys(
    engine: Engine, settings: Settings, portal: Portal
) -> None:
    with Session(engine) as session:
        session.add(RetiredSmsRuKey(portal_id=portal.id, fingerprint="f" * 32, api_id=FIRST_KEY))
        session.commit()

    async def run() -> None:
        async with runtime(settings) as rt, rt.sessions() as session:
            await forget(session, MEMBER_ID)

    asyncio.run(run())
    assert retired(engine) == {}


def test_the_key_a_message_was_sent_with(settings: Settings) -> None:
    portal = Portal(id=7, member_id=MEMBER_ID, smsru_api_id=SECOND_KEY)
    service = "the-services-own-key"
    with_service = settings.replace(smsru_api_id=SecretStr(service))
    ring = KeyRing(with_service, {(7, key_fingerprint(FIRST_KEY)): FIRST_KEY})
    assert ring.key_for(portal, key_fingerprint(SECOND_KEY)) == SECOND_KEY
    assert ring.key_for(portal, key_fingerprint(FIRST_KEY)) == FIRST_KEY
    assert ring.key_for(portal, key_fingerprint(service)) == service
    assert ring.key_for(portal, None) == SECOND_KEY  # sent before fingerprints were kept
    assert ring.key_for(portal, "unknown") == SECOND_KEY
    other = Portal(id=8, member_id="other", smsru_api_id=None)  # another portal's retired key
    assert ring.key_for(other, key_fingerprint(FIRST_KEY)) == service
