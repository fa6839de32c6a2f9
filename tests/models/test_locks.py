"""Writers of several messages lock them in id order, so that two of them wait for each other
instead of deadlocking.

Each case stores two messages, the second one first, so that a bare `UPDATE … WHERE` would find
and lock the second one first (in storage order, and in an index's order among equal keys). A
holder then locks them in id order, as callbacks, polls and the pusher do: the first, then (once
the writer waits) the second. A writer that locked in storage order would hold the second by then,
and PostgreSQL would fail one of the two.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import Session, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from support import wait_for
from support.databases import postgres_only
from support.rows import queued_message, with_sessions

from models import Message, Portal
from models.types import utcnow
from smsbridge.portals import lifecycle
from webhook import outbox

pytestmark = postgres_only("row locks that wait for each other")

Writer = Callable[[AsyncSession, Portal], Awaitable[object]]
LONG_AGO = utcnow() - timedelta(days=400)


async def uninstall(session: AsyncSession, portal: Portal) -> object:
    stored = await session.get(Portal, portal.id)
    assert stored is not None
    return await lifecycle.uninstall(session, stored, clean=False)


async def erase_expired(session: AsyncSession, portal: Portal) -> object:
    return await lifecycle.erase_expired(session)


async def fail_interrupted(session: AsyncSession, portal: Portal) -> object:
    return await outbox.fail_interrupted(session)


# writer, the messages' columns, what the writer did to each
CASES: dict[str, tuple[Writer, dict[str, object], Callable[[Message], bool]]] = {
    "uninstall": (
        uninstall,
        {"state": "delivered", "push_pending": True},
        lambda m: not m.push_pending,
    ),
    "retention": (
        erase_expired,
        {"state": "delivered", "accepted_at": LONG_AGO},
        lambda m: m.erased_at is not None,
    ),
    "interrupted sends": (
        fail_interrupted,
        {"state": "sending", "lease_until": LONG_AGO},
        lambda m: m.state == "failed",
    ),
}


def waiting_for_a_lock(engine: Engine) -> int:
    with engine.connect() as connection:
        query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        return int(connection.execute(text(query)).scalar_one())


@pytest.mark.parametrize("case", CASES)
def test_a_writer_of_several_messages_waits_instead_of_deadlocking(
    case: str, engine: Engine, portal: Portal, database_url: str
) -> None:
    writer, values, done = CASES[case]
    first_id, second_id = 1, 2
    with Session(engine) as session:
        for pk in (second_id, first_id):  # stored in this order: a bare UPDATE meets 2 first
            session.add(queued_message(portal, f"7900000000{pk}", "x", id=pk, **values))
            session.commit()

    outcome: list[object] = []

    def write() -> None:
        async def run(sessions: async_sessionmaker[AsyncSession]) -> object:
            async with sessions() as session:
                return await writer(session, portal)

        try:
            outcome.append(with_sessions(database_url, run))
        except Exception as exc:  # shown by the assertion below
            outcome.append(exc)

    with Session(engine) as holder:
        lock = select(Message.id).with_for_update()
        holder.execute(lock.where(col(Message.id) == first_id))
        thread = threading.Thread(target=write)
        thread.start()
        wait_for(lambda: waiting_for_a_lock(engine) == 1, timeout=10)
        holder.execute(text("SET LOCAL lock_timeout = '5s'"))
        holder.execute(lock.where(col(Message.id) == second_id))  # free: the writer holds none
        holder.commit()
    thread.join(timeout=30)

    assert len(outcome) == 1 and not isinstance(outcome[0], Exception), outcome
    with Session(engine) as session:
        written = session.exec(select(Message).order_by(col(Message.id))).all()
    assert [done(m) for m in written] == [True, True]
