"""`poll-statuses` run for real against the SMS.ru emulator, with callbacks lost."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, select
from support import Webhook, wait_for

from flows.poll_statuses import poll_statuses
from models import Message, StatusLog
from models.types import utcnow
from sandbox.smsru import SmsRuEmulator
from smsbridge.config import Settings


def make_due(engine: Engine) -> None:
    with Session(engine) as session:
        session.execute(update(Message).values(next_poll_at=utcnow() - timedelta(seconds=1)))
        session.commit()


@pytest.mark.usefixtures("prefect_harness")
def test_a_lost_callback_is_recovered_by_polling(
    webhook: Webhook, smsru: SmsRuEmulator, settings: Settings
) -> None:
    smsru.callbacks_enabled = False
    smsru.set_final("79161234567", 104)
    webhook.post_message("crm", "+79255070602", "где мой статус?")
    webhook.post_message("bizproc", "+79161234567", "и мой")
    webhook.wait_until_settled()
    wait_for(lambda: all(smsru.status_of(m.sms_id or "") in (103, 104) for m in webhook.messages()))
    make_due(webhook.engine)

    summary = asyncio.run(poll_statuses(settings=settings))

    assert summary == {"due": 2, "polled": 2, "advanced": 2, "failed_calls": 0, "no_key": 0}
    delivered, undelivered = webhook.messages()
    assert (delivered.state, delivered.status_code, delivered.push_pending) == (
        "delivered",
        103,
        True,
    )
    assert (undelivered.state, undelivered.status_code) == ("undelivered", 104)
    assert delivered.next_poll_at is None and delivered.cost is not None
    status_calls = [r for r in smsru.requests if r.path == "/sms/status"]
    assert len(status_calls) == 1  # both ids in one call
    with Session(webhook.engine) as session:
        sources = set(session.exec(select(StatusLog.source).where(StatusLog.smsru_code == 103)))
    assert sources == {"poll"}


def test_a_pending_message_is_polled_again_later(
    webhook: Webhook, smsru: SmsRuEmulator, settings: Settings
) -> None:
    smsru.callbacks_enabled = False
    smsru.delays = (30.0, 60.0, 120.0)  # it stays at 100 for the length of the test
    webhook.post_message("crm", "+79255070602", "ещё в пути")
    webhook.wait_until_settled()
    make_due(webhook.engine)

    summary = asyncio.run(poll_statuses.fn(settings=settings))

    assert (summary["polled"], summary["advanced"]) == (1, 0)
    [message] = webhook.messages()
    assert (message.state, message.polls) == ("sent", 1)
    assert message.next_poll_at is not None
    wait = message.next_poll_at - utcnow()
    assert timedelta(seconds=50) < wait <= timedelta(minutes=1)
    again = asyncio.run(poll_statuses.fn(settings=settings))
    assert again["due"] == 0  # not due yet: nothing asked


def test_nothing_due_asks_nothing(
    webhook: Webhook, smsru: SmsRuEmulator, settings: Settings
) -> None:
    webhook.post_message()
    webhook.wait_until_settled()
    summary = asyncio.run(poll_statuses.fn(settings=settings))
    assert summary["due"] == 0
    assert not [r for r in smsru.requests if r.path == "/sms/status"]


def test_one_run_polls_again_and_again_within_its_window(
    webhook: Webhook, smsru: SmsRuEmulator, settings: Settings
) -> None:
    """The deployment's hourly run makes a pass every `every` seconds: a message that becomes
    due while it runs is polled by that same run."""
    smsru.callbacks_enabled = False
    webhook.post_message()
    webhook.wait_until_settled()
    # Due half a second in; the window leaves a loaded machine (CI) seconds to spare.
    threading.Timer(0.5, make_due, args=(webhook.engine,)).start()

    summary = asyncio.run(poll_statuses.fn(settings=settings, window=5.0, every=0.3))

    assert (summary["due"], summary["polled"]) == (1, 1)
    assert len([r for r in smsru.requests if r.path == "/sms/status"]) == 1
