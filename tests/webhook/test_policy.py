"""The message policy over real HTTP: Bitrix24 portal emulator → webhook → SMS.ru emulator.

A campaign to a mixed list goes exactly to the numbers it may; each refused message is shown
`failed` in the portal, and where it is bound to a CRM item, its timeline says why.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import Engine, update
from sqlmodel import Session, select
from support import SMSRU_KEY, Webhook, wait_for

from models import Consent, Message, Portal, StopListEntry
from sandbox.bitrix24.portal import PortalEmulator
from sandbox.smsru import SmsRuEmulator

CONSENTING = "+79160000001"
NOT_CONSENTING = "+79160000002"
STOP_LISTED = "+79160000003"  # on the portal's own stop list (and consenting)
COMPLAINED = "+79160000004"  # SMS.ru refuses it with 215 (and consenting)
OPTED_OUT_AT_SMSRU = "+79160000005"  # on the account's stop list at SMS.ru: 209 (consenting)


def setup_portal(engine: Engine, **policy: object) -> int:
    with Session(engine) as session:
        portal = session.exec(select(Portal)).one()
        assert portal.id is not None
        session.execute(update(Portal).where(Portal.id == portal.id).values(**policy))
        session.commit()
        return portal.id


def consent(engine: Engine, portal_id: int, *phones: str) -> None:
    with Session(engine) as session:
        for n, phone in enumerate(phones, 1):
            session.add(
                Consent(
                    portal_id=portal_id,
                    phone=phone,
                    given_at=datetime(2026, 1, 10, tzinfo=UTC),
                    entity_type="contact",
                    entity_id=n,
                )
            )
        session.add(StopListEntry(portal_id=portal_id, phone=STOP_LISTED, reason="отписался"))
        session.commit()


def messages_error(webhook: Webhook) -> list[str | None]:
    return [message.error for message in webhook.messages()]


def settled(webhook: Webhook, count: int) -> list[Message]:
    wait_for(
        lambda: (
            len(webhook.messages()) == count
            and all(m.state not in ("queued", "sending") for m in webhook.messages())
        )
    )
    return webhook.messages()


def test_a_campaign_to_a_mixed_list_reaches_exactly_the_numbers_it_may(
    installed: Webhook, bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> None:
    portal_id = setup_portal(installed.engine, marketing_consent="required")
    consent(installed.engine, portal_id, CONSENTING, STOP_LISTED, COMPLAINED, OPTED_OUT_AT_SMSRU)
    smsru.set_number_error(COMPLAINED.removeprefix("+"), 215)
    smsru.add_to_stoplist(SMSRU_KEY, OPTED_OUT_AT_SMSRU, "")
    everyone = [CONSENTING, NOT_CONSENTING, STOP_LISTED, COMPLAINED, OPTED_OUT_AT_SMSRU]
    ids = {phone: bitrix24.send_message("sender", phone, "Скидка 20%!") for phone in everyone}
    messages = {m.recipient: m for m in settled(installed, len(everyone))}

    # SMS.ru was asked only for the numbers the policy lets through, with daytime=1.
    sends = [r for r in smsru.requests if r.path == "/sms/send"]
    asked = {n for r in sends for n in r.params["to"].split(",")}
    assert asked == {p.removeprefix("+") for p in (CONSENTING, COMPLAINED, OPTED_OUT_AT_SMSRU)}
    assert all(r.params["daytime"] == "1" for r in sends)
    assert [s.phone for s in smsru.sent] == [CONSENTING.removeprefix("+")]

    kinds = {phone: (m.state, m.failure, m.send_code) for phone, m in messages.items()}
    assert kinds.pop(CONSENTING) in {("sent", None, 100), ("delivered", None, 100)}
    assert kinds == {
        NOT_CONSENTING: ("failed", "no_consent", None),
        STOP_LISTED: ("failed", "stop_listed", None),
        COMPLAINED: ("failed", "stop_listed", 215),
        OPTED_OUT_AT_SMSRU: ("failed", "stop_listed", 209),
    }
    assert "no consent" in (messages[NOT_CONSENTING].error or "")
    assert "отписался" in (messages[STOP_LISTED].error or "")
    for phone in (NOT_CONSENTING, STOP_LISTED, COMPLAINED, OPTED_OUT_AT_SMSRU):
        wait_for(lambda phone=phone: bitrix24.message_status(ids[phone]) == "failed")
    metrics = installed.http.get("/metrics").text
    for reason in ("no_consent", "stop_listed"):
        assert f'smsbridge_messages_refused_total{{kind="marketing",reason="{reason}"}}' in metrics

    # SMS.ru's refusals joined the portal's stop list: the next campaign does not try them.
    with Session(installed.engine) as session:
        listed = {
            (e.phone, e.origin)
            for e in session.exec(select(StopListEntry).where(StopListEntry.portal_id == portal_id))
        }
    assert listed == {
        (STOP_LISTED, "manual"),
        (COMPLAINED, "smsru"),
        (OPTED_OUT_AT_SMSRU, "smsru"),
    }
    before = len([r for r in smsru.requests if r.path == "/sms/send"])
    bitrix24.send_message("sender", COMPLAINED, "Ещё скидка")
    [again] = [m for m in settled(installed, 6) if m.text == "Ещё скидка"]
    assert (again.state, again.failure) == ("failed", "stop_listed")
    assert len([r for r in smsru.requests if r.path == "/sms/send"]) == before


def test_transactional_ignores_stop_list_and_consent_and_carries_the_ttl(
    installed: Webhook, bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> None:
    portal_id = setup_portal(installed.engine, marketing_consent="required", transactional_ttl=15)
    consent(installed.engine, portal_id)  # nobody consents; STOP_LISTED is listed
    bitrix24.send_message("crm", STOP_LISTED, "Код 1234")
    [message] = settled(installed, 1)
    assert message.state in ("sent", "in_transit", "delivered")
    [send] = [r for r in smsru.requests if r.path == "/sms/send"]
    assert send.params["ttl"] == "15" and "daytime" not in send.params


def test_a_portal_may_put_its_stop_list_on_transactional_too(
    installed: Webhook, bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> None:
    portal_id = setup_portal(installed.engine, transactional_stop_list=True)
    consent(installed.engine, portal_id)
    message_id = bitrix24.send_message("crm", STOP_LISTED, "Ваш заказ готов", entity=("deal", 7))
    [message] = settled(installed, 1)
    assert (message.state, message.failure) == ("failed", "stop_listed")
    assert not [r for r in smsru.requests if r.path == "/sms/send"]
    wait_for(lambda: bitrix24.message_status(message_id) == "failed")
    wait_for(lambda: len(bitrix24.timeline_comments) == 1)
    [comment] = bitrix24.timeline_comments
    assert (comment.entity_type, comment.entity_id) == ("deal", 7)
    # The installed portal's LANGUAGE_ID is "ru": its managers read Russian.
    assert comment.text == (
        f"SMS на {STOP_LISTED} не отправлено: номер в стоп-листе (отписался), получатель "
        "отказался от рассылок"
    )
    assert messages_error(installed) == [
        f"not sent: {STOP_LISTED} is on the stop list (отписался); the recipient opted out"
    ]  # reports and logs keep English


def test_a_portal_in_english_reads_its_comments_in_english(
    installed: Webhook, bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> None:
    again = bitrix24.install(installed.server.url + "/bitrix24/install", language_id="en")
    assert again.status_code == 200, again.text
    portal_id = setup_portal(installed.engine, transactional_stop_list=True)
    consent(installed.engine, portal_id)
    bitrix24.send_message("crm", STOP_LISTED, "Your order is ready", entity=("deal", 8))
    settled(installed, 1)
    wait_for(lambda: len(bitrix24.timeline_comments) == 1)
    [comment] = bitrix24.timeline_comments
    assert comment.text == (
        f"SMS to {STOP_LISTED} not sent: {STOP_LISTED} is on the stop list (отписался); the "
        "recipient opted out"
    )


def test_a_robot_firing_again_is_refused_as_a_duplicate_and_the_item_says_why(
    installed: Webhook, bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> None:
    first = bitrix24.send_message(
        "bizproc", CONSENTING, "Сделка на этапе «Оплата»", entity=("deal", 3)
    )
    settled(installed, 1)
    again = bitrix24.send_message(
        "bizproc", CONSENTING, "Сделка на этапе «Оплата»", entity=("deal", 3)
    )
    other_item = bitrix24.send_message(
        "bizproc", CONSENTING, "Сделка на этапе «Оплата»", entity=("deal", 4)
    )
    messages = {m.message_id: m for m in settled(installed, 3)}
    # Both went out; where SMS.ru's callbacks have got to by now is not this test's concern.
    assert {messages[first].state, messages[other_item].state} <= {
        "sent",
        "in_transit",
        "delivered",
    }
    assert (messages[again].state, messages[again].failure) == ("failed", "duplicate")
    assert len(smsru.sent) == 2
    wait_for(lambda: bitrix24.message_status(again) == "failed")
    wait_for(lambda: len(bitrix24.timeline_comments) == 1)
    [comment] = bitrix24.timeline_comments
    assert (comment.entity_type, comment.entity_id) == ("deal", 3)
    assert "тот же текст ушёл на этот номер по этой записи" in comment.text
    assert "робот сработал повторно" in comment.text


def test_frequency_refusals_fail_with_the_reason_and_are_not_retried(
    installed: Webhook, bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> None:
    smsru.set_number_error(CONSENTING.removeprefix("+"), 231)
    bitrix24.send_message("crm", CONSENTING, "Код 1111")
    [message] = settled(installed, 1)
    assert (message.state, message.failure, message.send_code) == ("failed", "too_frequent", 231)
    assert message.attempts == 1
    assert len([r for r in smsru.requests if r.path == "/sms/send"]) == 1


def test_marketing_waits_for_the_recipients_morning_and_a_code_does_not(
    installed: Webhook, bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> None:
    smsru.recipients_at(23)
    bitrix24.send_message("sender", CONSENTING, "Скидка 20%!")
    bitrix24.send_message("crm", NOT_CONSENTING, "Код 1234")
    messages = {m.kind: m for m in settled(installed, 2)}
    wait_for(lambda: smsru.status_of(messages["transactional"].sms_id or "") == 103)
    time.sleep(0.5)  # far beyond the emulator's delivery delays
    assert smsru.status_of(messages["marketing"].sms_id or "") == 100  # held until 10:00 there
