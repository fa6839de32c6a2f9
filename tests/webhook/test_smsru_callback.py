"""SMS.ru's status callbacks over real HTTP: signed, applied in order, answered `100`."""

from __future__ import annotations

import asyncio
import time

import httpx
from pydantic import SecretStr
from sqlalchemy import update
from sqlmodel import Session, select
from support import SECRET, SMSRU_KEY, Webhook, signed_callback

from clients.smsru.callbacks import status_record
from models import Message, StatusLog
from models.types import utcnow
from sandbox.smsru import SmsRuEmulator
from smsbridge.config import Settings
from smsbridge.endpoints import callback_path
from smsbridge.runtime import runtime
from smsbridge.status.poll import PollSummary, poll_due


def post_callback(webhook: Webhook, records: list[str], key: str = SMSRU_KEY) -> httpx.Response:
    return webhook.http.post(callback_path(SECRET), data=signed_callback(records, key))


async def poll_due_now(settings: Settings) -> PollSummary:
    async with runtime(settings.replace(smsru_api_id=SecretStr(SMSRU_KEY))) as rt:
        return await poll_due(rt.sessions, rt.settings, rt.http)


def sent_message(webhook: Webhook, smsru: SmsRuEmulator, phone: str = "+79255070602") -> Message:
    smsru.callbacks_enabled = False  # the test sends the callbacks itself
    webhook.post_message("crm", phone, "hello")
    webhook.wait_for(lambda: any(m.recipient == phone and m.sms_id for m in webhook.messages()))
    return next(m for m in webhook.messages() if m.recipient == phone)


def test_emulated_smsru_callbacks_bring_delivered(
    webhook: Webhook, smsru: SmsRuEmulator, settings: Settings
) -> None:
    registration = {"api_id": SMSRU_KEY, "url": webhook.server.url + callback_path(SECRET)}
    httpx.post(f"{settings.smsru_base}/callback/add", data=registration).raise_for_status()
    try:
        webhook.post_message("crm", "+79255070602", "доставь меня")
        webhook.wait_for(lambda: webhook.messages()[0].state == "delivered")
    finally:
        httpx.post(f"{settings.smsru_base}/callback/del", data=registration).raise_for_status()
    [message] = webhook.messages()
    assert (message.status_code, message.push_pending) == (103, True)
    assert message.final_at is not None
    # A callback carries no price: one more poll fetches it, then polling stops.
    assert message.cost is None and message.next_poll_at is not None
    assert message.final_at is not None and message.sent_at is not None
    assert message.final_at >= message.sent_at
    with Session(webhook.engine) as session:
        session.execute(update(Message).values(next_poll_at=utcnow()))
        session.commit()
    polled = asyncio.run(poll_due_now(settings))
    assert (polled.polled, polled.advanced) == (1, 0)
    [message] = webhook.messages()
    assert (message.state, message.next_poll_at) == ("delivered", None)
    assert message.cost is not None and message.cost > 0
    with Session(webhook.engine) as session:
        codes = session.exec(
            select(StatusLog.smsru_code).where(StatusLog.source == "callback")
        ).all()
    assert 103 in codes
    assert all(d.result == 200 for d in smsru.callback_deliveries)


def test_late_callbacks_never_move_a_status_back(webhook: Webhook, smsru: SmsRuEmulator) -> None:
    message = sent_message(webhook, smsru)
    assert message.sms_id is not None
    for code in (103, 102, 101):
        response = post_callback(webhook, [status_record(message.sms_id, code)])
        assert (response.status_code, response.text) == (200, "100")
    [stored] = webhook.messages()
    assert (stored.state, stored.status_code) == ("delivered", 103)
    with Session(webhook.engine) as session:
        log = session.exec(
            select(StatusLog.smsru_code, StatusLog.applied)
            .where(StatusLog.source == "callback")
            .order_by(StatusLog.id)
        ).all()
    assert [tuple(row) for row in log] == [(103, True), (102, False), (101, False)]


def test_records_in_one_post_apply_in_time_order(webhook: Webhook, smsru: SmsRuEmulator) -> None:
    message = sent_message(webhook, smsru)
    assert message.sms_id is not None
    now = int(time.time())
    records = [
        status_record(message.sms_id, 104, now + 2),
        status_record(message.sms_id, 102, now + 1),
    ]
    assert post_callback(webhook, records).text == "100"
    assert webhook.messages()[0].state == "undelivered"


def test_forged_hash_changes_nothing(webhook: Webhook, smsru: SmsRuEmulator) -> None:
    message = sent_message(webhook, smsru)
    assert message.sms_id is not None
    assert message.push_pending is False  # `sent` is not pushed: the portal shows it already
    forged = post_callback(webhook, [status_record(message.sms_id, 104)], key="not-our-key")
    assert forged.status_code == 403
    assert forged.text != "100"
    unsigned = webhook.http.post(
        callback_path(SECRET),
        data={"data[0]": status_record(message.sms_id, 104), "hash": "0" * 64},
    )
    assert unsigned.status_code == 403
    [after] = webhook.messages()
    assert after.model_dump() == message.model_dump()  # not a column changed: nothing to push
    with Session(webhook.engine) as session:
        assert session.exec(select(StatusLog).where(StatusLog.source == "callback")).all() == []


def test_wrong_url_secret(webhook: Webhook) -> None:
    response = webhook.http.post(callback_path("wrong"), data={"data[0]": "test\n1", "hash": "x"})
    assert response.status_code == 401


def test_unknown_ids_heartbeats_and_other_kinds_are_accepted(webhook: Webhook) -> None:
    records = [
        "test\n1782404811",
        "callcheck_status\n202626-48053517\n401\n1782404881",
        status_record("000000-404", 103),
        "some_future_kind\nx\ny",
    ]
    response = post_callback(webhook, records)
    assert (response.status_code, response.text) == (200, "100")


def test_a_status_before_its_send_is_stored_is_asked_for_again(
    webhook: Webhook, smsru: SmsRuEmulator
) -> None:
    """SMS.ru answered the send and called back before our commit stored the id: while that send
    is in flight the callback is not acknowledged, and SMS.ru's retry applies it."""
    message = sent_message(webhook, smsru)
    sms_id = message.sms_id
    assert sms_id is not None
    with Session(webhook.engine) as session:  # back to the moment before the commit
        session.execute(update(Message).values(state="sending", sms_id=None))
        session.commit()
    early = post_callback(webhook, [status_record(sms_id, 103)])
    assert early.status_code == 503 and early.text != "100"
    assert "send again" in early.text
    with Session(webhook.engine) as session:  # the send's commit
        session.execute(update(Message).values(state="sent", sms_id=sms_id))
        session.commit()
    again = post_callback(webhook, [status_record(sms_id, 103)])
    assert (again.status_code, again.text) == (200, "100")
    assert webhook.messages()[0].state == "delivered"


def test_malformed_callbacks(webhook: Webhook) -> None:
    assert webhook.http.post(callback_path(SECRET), data={"hash": "x"}).status_code == 400
    body = b"data[0]=%FF&hash=1"
    response = webhook.http.post(
        callback_path(SECRET),
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code in (400, 403)


def test_a_hundred_records_in_one_post(webhook: Webhook, smsru: SmsRuEmulator) -> None:
    smsru.callbacks_enabled = False
    for n in range(100):
        webhook.post_message("sender", f"+7916{n:07d}", "акция")
    messages = webhook.wait_until_settled()
    records = [status_record(m.sms_id or "", 103) for m in messages]
    assert post_callback(webhook, records).text == "100"
    assert {m.state for m in webhook.messages()} == {"delivered"}
