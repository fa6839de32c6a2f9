"""Retention erases texts and numbers past a portal's `retention_days`, and nothing the reports
count; `forget` erases a portal entirely."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from models import Message, Portal, StatusLog
from models.types import utcnow
from smsbridge.config import Settings
from smsbridge.portals.lifecycle import erase_expired, forget
from smsbridge.runtime import runtime


def add_message(session: Session, portal: Portal, n: int, state: str, days_ago: int) -> Message:
    assert portal.id is not None
    message = Message(
        portal_id=portal.id,
        message_id=f"{portal.member_id}-{n}",
        provider_code="smsru",
        kind="transactional",
        source="card",
        recipient=f"+7925000{n:04d}",
        recipient_raw=f"8 925 000 {n:04d}",
        text=f"личное {n}",
        encoding="ucs2",
        segments=2,
        state=state,
        cost=Decimal("4.00"),
        accepted_at=utcnow() - timedelta(days=days_ago),
    )
    session.add(message)
    return message


def seed(engine: Engine) -> None:
    with Session(engine) as session:
        short = Portal(member_id="short", retention_days=30)
        default = Portal(member_id="default")
        session.add_all([short, default])
        session.commit()
        add_message(session, short, 1, "delivered", days_ago=31)
        add_message(session, short, 2, "undelivered", days_ago=29)
        add_message(session, short, 3, "queued", days_ago=31)  # not sent yet: kept to send
        add_message(session, default, 4, "delivered", days_ago=31)
        add_message(session, default, 5, "failed", days_ago=181)
        session.commit()


def test_retention_erases_texts_and_numbers_and_keeps_the_figures(
    engine: Engine, settings: Settings
) -> None:
    seed(engine)
    with Session(engine) as session:  # words that name the number: a refusal's, its log's
        found = {m.message_id: m for m in session.exec(select(Message)).all()}
        refused, kept = found["default-5"], found["short-2"]
        refused.error = f"not sent: {refused.recipient} is on the stop list"
        refused.comment = f"SMS на {refused.recipient} не отправлено: номер в стоп-листе"
        for m in (refused, kept):
            assert m.id is not None
            session.add(
                StatusLog(message_pk=m.id, state=m.state, source="sender", detail=m.recipient)
            )
        session.commit()

    async def run() -> int:
        async with runtime(settings) as rt, rt.sessions() as session:
            return await erase_expired(session)

    assert asyncio.run(run()) == 2
    with Session(engine) as session:
        messages = {m.message_id: m for m in session.exec(select(Message)).all()}
        details = {log.message_pk: log.detail for log in session.exec(select(StatusLog)).all()}
    erased = {key for key, m in messages.items() if m.erased_at is not None}
    assert erased == {"short-1", "default-5"}
    for key in erased:
        m = messages[key]
        assert (m.text, m.recipient, m.recipient_raw) == ("", None, "")
        assert (m.error, m.comment) == (None, None)
        assert (m.state, m.segments, m.cost, m.kind) != (None, None, None, None)
        assert m.cost == Decimal("4.00") and m.segments == 2
    assert details == {messages["default-5"].id: None, messages["short-2"].id: "+79250000002"}
    assert messages["short-2"].text == "личное 2" and messages["short-3"].recipient
    assert asyncio.run(run()) == 0  # erased once


@pytest.mark.usefixtures("engine")
def test_forget_erases_the_portal_entirely(engine: Engine, settings: Settings) -> None:
    seed(engine)
    with Session(engine) as session:
        [message] = session.exec(select(Message).where(Message.message_id == "short-1")).all()
        assert message.id is not None
        session.add(StatusLog(message_pk=message.id, state="delivered", source="callback"))
        session.commit()

    async def run(member_id: str) -> int:
        async with runtime(settings) as rt, rt.sessions() as session:
            return await forget(session, member_id)

    assert asyncio.run(run("short")) == 3
    with Session(engine) as session:
        assert [p.member_id for p in session.exec(select(Portal)).all()] == ["default"]
        assert {m.message_id for m in session.exec(select(Message)).all()} == {
            "default-4",
            "default-5",
        }
        assert session.exec(select(StatusLog)).all() == []
    with pytest.raises(LookupError):
        asyncio.run(run("short"))
