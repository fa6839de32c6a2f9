"""The send path end to end: Bitrix24 POST → webhook → outbox → SMS.ru emulator, all over HTTP."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import Engine, update
from sqlmodel import Session, select
from support import Webhook
from support.options import FAST
from support.rows import queued_message

from models import Portal, StatusLog
from models.types import utcnow
from sandbox.bitrix24.messages import encode, message_fields
from sandbox.server import free_port
from sandbox.smsru import SmsRuEmulator
from webhook.outbox import INTERRUPTED

# One worker claims the whole queue at once; several split it, as they skip each other's rows.
ONE_SENDER = replace(FAST, workers=1)


def sends_by_number(smsru: SmsRuEmulator) -> Counter[str]:
    return Counter(sent.phone for sent in smsru.sent)


def test_each_kind_of_send_goes_out_exactly_once(webhook: Webhook, smsru: SmsRuEmulator) -> None:
    posts = [
        ("crm", "+7 (925) 507-06-02", "Заказ №1 принят"),
        ("bizproc", "89161234567", "Your order has shipped"),
        ("sender", "+79031234567", "Скидка 20% до пятницы"),
    ]
    for module, phone, text in posts:
        assert webhook.post_message(module, phone, text).status_code == 200  # type: ignore[arg-type]
    messages = webhook.wait_until_settled()
    assert [m.state for m in messages] == ["sent"] * 3
    assert sorted((s.phone, s.text) for s in smsru.sent) == sorted(
        [
            ("79255070602", "Заказ №1 принят"),
            ("79161234567", "Your order has shipped"),
            ("79031234567", "Скидка 20% до пятницы"),
        ]
    )
    by_number = {s.phone: s for s in smsru.sent}
    for message in messages:
        assert message.recipient is not None
        sent = by_number[message.recipient.removeprefix("+")]
        assert message.sms_id == sent.sms_id
        assert (message.send_code, message.status_code, message.attempts) == (100, 100, 1)
        assert message.sent_at is not None
        assert sent.test is False
    with Session(webhook.engine) as session:
        entries = session.exec(select(StatusLog).where(StatusLog.source == "sender")).all()
    assert sorted(e.state for e in entries) == ["sent"] * 3


def test_duplicates_send_nothing_extra(webhook: Webhook, smsru: SmsRuEmulator) -> None:
    body = encode(message_fields("bizproc", "+79255070602", "Код 4321"))
    with ThreadPoolExecutor(16) as pool:
        assert set(pool.map(lambda _: webhook.post_form(body).status_code, range(40))) == {200}
    webhook.wait_until_settled()
    assert webhook.post_form(body).status_code == 200  # once more, after it was sent
    webhook.wait_until_settled()
    assert len(smsru.sent) == 1
    assert len(webhook.messages()) == 1


def test_a_campaign_is_batched_and_sent_once(webhook: Webhook, smsru: SmsRuEmulator) -> None:
    phones = [f"+7916{n:07d}" for n in range(250)]
    bodies = [encode(message_fields("sender", phone, "Распродажа!")) for phone in phones]
    with ThreadPoolExecutor(16) as pool:
        assert set(pool.map(lambda body: webhook.post_form(body).status_code, bodies)) == {200}
    messages = webhook.wait_until_settled(30)
    assert {m.state for m in messages} == {"sent"}
    assert sends_by_number(smsru) == Counter(p.removeprefix("+") for p in phones)
    calls = [r for r in smsru.requests if r.path == "/sms/send"]
    assert all(len(r.params["to"].split(",")) <= 100 for r in calls)
    assert len(calls) < 250  # batched: not one call per message


def test_different_texts_and_a_repeated_number(
    start_webhook: Callable[..., Webhook], smsru: SmsRuEmulator, portal: Portal, engine: Engine
) -> None:
    # Queued before the webhook starts, so that its one worker's first round claims all three.
    with Session(engine) as session:
        for phone, text in (
            ("79255070602", "first"),
            ("79255070602", "second"),
            ("79161234567", "third"),
        ):
            session.add(queued_message(portal, phone, text))
        session.commit()
    webhook = start_webhook(ONE_SENDER)
    assert {m.state for m in webhook.wait_until_settled()} == {"sent"}
    calls = [r.params for r in smsru.requests if r.path == "/sms/send"]
    # (A retried attempt on a loaded machine may add a call; these two must be there.)
    assert {"json": "1", "multi[79255070602]": "first", "multi[79161234567]": "third"} in calls
    assert {"json": "1", "to": "79255070602", "msg": "second"} in calls
    assert sorted(s.text for s in smsru.sent) == ["first", "second", "third"]


def test_per_number_207_fails_with_its_code(webhook: Webhook, smsru: SmsRuEmulator) -> None:
    smsru.set_number_error("79255070602", 207)
    webhook.post_message("crm", "+79255070602", "no route")
    webhook.post_message("crm", "+79161234567", "fine")
    failed, sent = webhook.wait_until_settled()
    assert (failed.state, failed.send_code, failed.failure) == ("failed", 207, "refused")
    assert failed.error is not None and failed.error.startswith("SMS.ru 207: ")
    assert failed.final_at is not None
    assert (sent.state, sent.failure) == ("sent", None)


def test_outage_500_then_every_message_sent_once(webhook: Webhook, smsru: SmsRuEmulator) -> None:
    smsru.set_outage("http500", remaining=6)
    for n in range(5):
        webhook.post_message("crm", f"+7925000000{n}", f"message {n}")
    messages = webhook.wait_until_settled()
    assert {m.state for m in messages} == {"sent"}
    assert sends_by_number(smsru) == Counter(f"7925000000{n}" for n in range(5))
    assert max(m.attempts for m in messages) > 1  # it really did retry


def test_top_level_220_then_every_message_sent_once(webhook: Webhook, smsru: SmsRuEmulator) -> None:
    smsru.set_outage("220", remaining=4)
    for n in range(3):
        webhook.post_message("bizproc", f"+7916000000{n}", "later")
    messages = webhook.wait_until_settled()
    assert {m.state for m in messages} == {"sent"}
    assert len(smsru.sent) == 3
    with Session(webhook.engine) as session:
        retries = session.exec(select(StatusLog).where(StatusLog.state == "queued")).all()
    assert any("SMS.ru 220" in (entry.detail or "") for entry in retries)


def test_account_problem_pauses_the_portal_and_resumes(
    start_webhook: Callable[..., Webhook], smsru: SmsRuEmulator, portal: Portal, engine: Engine
) -> None:
    smsru.set_top_level_error(201)
    with Session(engine) as session:  # queued first: one call carries all three
        for n in range(3):
            session.add(queued_message(portal, f"7903000000{n}", "no money yet"))
        session.commit()
    webhook = start_webhook(ONE_SENDER)

    def paused() -> Portal | None:
        with Session(webhook.engine) as session:
            found = session.get(Portal, portal.id)
            return found if found and found.pause_reason else None

    webhook.wait_for(lambda: paused() is not None)
    stored = paused()
    assert stored is not None and stored.pause_reason is not None
    assert stored.pause_reason.startswith("SMS.ru 201")

    def sends() -> int:
        return len([r for r in smsru.requests if r.path == "/sms/send"])

    def next_probe() -> float:
        """Wait for the next call SMS.ru logs; when it came."""
        seen = sends()
        webhook.wait_for(lambda: sends() > seen, interval=0.01)  # timed: looked at often
        return time.monotonic()

    first, second = next_probe(), next_probe()
    # Nothing failed, nothing lost (a probe may be in flight at this moment).
    assert {m.state for m in webhook.messages()} <= {"queued", "sending"}
    # One probe call (carrying all three) per pause window (0.3 s), not a call per message per
    # backoff (which, at 0.05–0.2 s, would come some fifteen times a second).
    assert second - first >= 0.25
    smsru.set_top_level_error(None)  # the account is topped up
    messages = webhook.wait_until_settled()
    assert {m.state for m in messages} == {"sent"}
    assert len(smsru.sent) == 3
    assert paused() is None


def test_no_smsru_key_pauses_with_a_reason(
    start_webhook: Callable[..., Webhook], smsru: SmsRuEmulator, portal: Portal, engine: Engine
) -> None:
    with Session(engine) as session:
        session.execute(update(Portal).values(smsru_api_id=None))
        session.commit()
    webhook = start_webhook()
    webhook.post_message()
    webhook.wait_for(lambda: _pause_reason(engine) is not None)
    assert _pause_reason(engine) == "no SMS.ru key: set SMSRU_API_ID or the portal's own key"
    assert [m.state for m in webhook.messages()] == ["queued"]
    assert smsru.requests == []


def _pause_reason(engine: Engine) -> str | None:
    with Session(engine) as session:
        return session.exec(select(Portal.pause_reason)).one()


def test_connection_refused_keeps_messages_queued(
    start_webhook: Callable[..., Webhook], portal: Portal
) -> None:
    webhook = start_webhook(FAST, smsru_api_url=f"http://127.0.0.1:{free_port()}")
    webhook.post_message("crm", "+79255070602", "nobody home")
    webhook.wait_for(lambda: webhook.messages()[0].attempts >= 3)
    [message] = webhook.messages()
    assert message.state in ("queued", "sending")
    assert message.error is not None and "connect" in message.error.lower()


def test_a_message_smsru_cannot_take_for_too_long_is_given_up(
    start_webhook: Callable[..., Webhook], smsru: SmsRuEmulator, portal: Portal
) -> None:
    webhook = start_webhook(replace(FAST, workers=1, give_up_after=0.0))
    smsru.set_outage("http500")
    webhook.post_message("crm", "+79255070602", "never taken")
    [message] = webhook.wait_until_settled()
    assert (message.state, message.failure, message.attempts) == ("failed", "gave_up", 1)
    assert message.error is not None and message.error.startswith("gave up: ")
    assert smsru.sent == []


def test_no_answer_after_sending_is_not_resent(
    start_webhook: Callable[..., Webhook], smsru: SmsRuEmulator, portal: Portal
) -> None:
    options = replace(FAST, workers=1, read_timeout=0.5)
    webhook = start_webhook(options)
    smsru.set_outage("process_then_hang", remaining=1)
    webhook.post_message("crm", "+79255070602", "maybe sent")
    [message] = webhook.wait_until_settled()
    assert (message.state, message.failure) == ("failed", "interrupted")
    assert message.error is not None and message.error.startswith(INTERRUPTED)
    assert len(smsru.sent) == 1  # SMS.ru did take it; we did not send it again


def test_an_interrupted_send_found_at_start_is_failed_not_resent(
    start_webhook: Callable[..., Webhook], smsru: SmsRuEmulator, portal: Portal, engine: Engine
) -> None:
    now = utcnow()
    with Session(engine) as session:
        session.add(
            queued_message(
                portal,
                "79255070602",
                "was in flight when the process died",
                state="sending",
                attempts=1,
                claimed_by="dead-worker",
                lease_until=now - timedelta(seconds=1),
            )
        )
        session.commit()
    webhook = start_webhook()
    [message] = webhook.wait_until_settled()
    assert (message.state, message.error, message.failure) == ("failed", INTERRUPTED, "interrupted")
    assert smsru.sent == []


def test_a_portals_test_mode_is_sent_as_test_1(
    start_webhook: Callable[..., Webhook], portal: Portal, smsru: SmsRuEmulator, engine: Engine
) -> None:
    """The admin turned test mode on in the app's page: it wins over SMSRU_TEST=0."""
    with Session(engine) as session:
        stored = session.get(Portal, portal.id)
        assert stored is not None
        stored.smsru_test = True
        session.add(stored)
        session.commit()
    webhook = start_webhook(smsru_test=False)
    assert webhook.post_message("crm", "+79255070602", "тест").status_code == 200
    webhook.wait_until_settled()
    [sent] = smsru.sent
    assert sent.test is True
