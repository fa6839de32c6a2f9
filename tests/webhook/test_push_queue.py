"""The status-push queue on the real database: which portal a pusher leases, what it pushes first,
and what a push's success or failure leaves behind (backoff, giving up)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession
from support.rows import queued_message, with_sessions

from models import Message, Portal
from models.types import utcnow
from smsbridge.status.states import State
from webhook import push_queue
from webhook.push_queue import MAX_PUSH_ATTEMPTS, PendingPush

LEASE = timedelta(seconds=60)
BACKOFF, CAP = 5.0, 60.0  # seconds
T = TypeVar("T")


def in_session(database_url: str, call: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """`call(session)` on one async session of its own."""

    async def work(sessions: async_sessionmaker[AsyncSession]) -> T:
        async with sessions() as session:
            return await call(session)

    return with_sessions(database_url, work)


def add_portal(engine: Engine, member_id: str, **values: object) -> Portal:
    """An installed portal (tokens stored: the pusher leases only portals it can call)."""
    with Session(engine) as session:
        portal = Portal(
            member_id=member_id, **({"access_token": "a", "refresh_token": "r"} | values)
        )
        session.add(portal)
        session.commit()
        session.refresh(portal)
        return portal


def add_message(engine: Engine, portal: Portal, **values: object) -> int:
    with Session(engine) as session:
        message = queued_message(portal, "79255070602", "hi", **values)
        session.add(message)
        session.commit()
        assert message.id is not None
        return message.id


def final(**values: object) -> dict[str, object]:
    """A delivered message waiting to be pushed now, unless `values` say otherwise."""
    return {"state": State.DELIVERED, "push_pending": True} | values


def stored(engine: Engine, pk: int) -> Message:
    with Session(engine) as session:
        message = session.get(Message, pk)
        assert message is not None
        return message


def claim(database_url: str, worker: str) -> Portal | None:
    return in_session(database_url, lambda s: push_queue.claim_portal(s, worker, LEASE))


def test_a_portal_is_leased_only_with_pushes_or_flags_due(
    database_url: str, engine: Engine
) -> None:
    later = utcnow() + timedelta(minutes=5)
    idle = add_portal(engine, "idle")
    add_message(engine, idle, state=State.SENT)  # nothing to tell Bitrix24
    add_message(engine, idle, **final(next_push_at=later))  # backing off
    revoked = add_portal(engine, "revoked", auth_error="invalid_grant: the app was revoked")
    add_message(engine, revoked, **final())
    flagged = add_portal(engine, "flagged")
    add_message(engine, flagged, state=State.SENT, flag_pending=True)

    leased = claim(database_url, "pusher-1")

    assert leased is not None and leased.id == flagged.id
    assert leased.push_claimed_by == "pusher-1"
    assert leased.push_lease_until is not None and leased.push_lease_until > utcnow()
    assert claim(database_url, "pusher-2") is None  # the revoked portal's statuses wait


def test_pushers_claiming_at_once_lease_each_portal_once(database_url: str, engine: Engine) -> None:
    portals = [add_portal(engine, f"portal-{n}") for n in range(3)]
    for portal in portals:
        add_message(engine, portal, **final())

    async def race(sessions: async_sessionmaker[AsyncSession]) -> list[int | None]:
        async def one(worker: str) -> int | None:
            async with sessions() as session:
                portal = await push_queue.claim_portal(session, worker, LEASE)
                return portal.id if portal else None

        return await asyncio.gather(*(one(f"pusher-{n}") for n in range(5)))

    leased = with_sessions(database_url, race)

    assert sorted(pk for pk in leased if pk is not None) == sorted(p.id for p in portals)
    assert leased.count(None) == 2


def test_the_portal_that_waited_longest_comes_first_and_leases_run_out(
    database_url: str, engine: Engine
) -> None:
    now = utcnow()
    recent = add_portal(engine, "recent", push_lease_until=now - timedelta(seconds=1))
    waited = add_portal(engine, "waited", push_lease_until=now - timedelta(minutes=5))
    held = add_portal(
        engine, "held", push_claimed_by="pusher-0", push_lease_until=now + timedelta(minutes=1)
    )
    for portal in (recent, waited, held):
        add_message(engine, portal, **final())

    order = [claim(database_url, f"pusher-{n}") for n in range(1, 4)]

    assert [p.member_id if p else None for p in order] == ["waited", "recent", None]


def test_only_the_holder_extends_or_releases_a_lease(database_url: str, engine: Engine) -> None:
    portal = add_portal(engine, "portal")
    add_message(engine, portal, **final())
    assert claim(database_url, "holder") is not None
    assert portal.id is not None
    portal_id = portal.id

    def extend(worker: str) -> bool:
        return in_session(
            database_url, lambda s: push_queue.extend_lease(s, portal_id, worker, LEASE)
        )

    def release(worker: str) -> None:
        in_session(database_url, lambda s: push_queue.release_portal(s, portal_id, worker))

    def lease() -> tuple[str | None, object]:
        with Session(engine) as session:
            found = session.get(Portal, portal_id)
            assert found is not None
            return found.push_claimed_by, found.push_lease_until

    assert extend("another") is False
    release("another")
    assert lease()[0] == "holder"
    assert extend("holder") is True
    release("holder")
    claimed_by, until = lease()
    assert claimed_by is None and until is not None and until <= utcnow()
    assert claim(database_url, "next") is not None  # free again at once


def test_pending_is_what_is_due_oldest_first(
    database_url: str, engine: Engine, portal: Portal
) -> None:
    now = utcnow()
    retried = add_message(engine, portal, **final(next_push_at=now - timedelta(seconds=5)))
    first = add_message(engine, portal, **final(state=State.FAILED))
    second = add_message(engine, portal, **final(state=State.UNDELIVERED))
    add_message(engine, portal, **final(next_push_at=now + timedelta(minutes=1)))  # not yet
    add_message(engine, portal, state=State.DELIVERED)  # pushed already
    other = add_portal(engine, "another")
    add_message(engine, other, **final())
    assert portal.id is not None
    portal_id = portal.id

    due = in_session(database_url, lambda s: push_queue.pending(s, portal_id, 10))
    two = in_session(database_url, lambda s: push_queue.pending(s, portal_id, 2))

    assert [(p.pk, p.status) for p in due] == [
        (first, "failed"),  # never tried: before the retry, whose time has come
        (second, "undelivered"),
        (retried, "delivered"),
    ]
    assert [p.pk for p in two] == [first, second]
    assert due[0].provider_code == "smsru" and due[0].attempts == 0


def pending_push(engine: Engine, pk: int) -> PendingPush:
    message = stored(engine, pk)
    assert message.id is not None
    return PendingPush(
        message.id,
        message.message_id,
        message.provider_code,
        State(message.state),
        message.push_attempts,
    )


def test_a_pushed_status_is_done_unless_the_state_moved_on(
    database_url: str, engine: Engine, portal: Portal
) -> None:
    pushed = add_message(engine, portal, **final(push_error="Bitrix24: earlier failure"))
    moved = add_message(engine, portal, **final(state=State.SENT))
    pushes = [pending_push(engine, pushed), pending_push(engine, moved)]
    with Session(engine) as session:  # a callback moves it on while its push is in flight
        message = session.get(Message, moved)
        assert message is not None
        message.state = State.DELIVERED
        session.add(message)
        session.commit()

    in_session(database_url, lambda s: push_queue.mark_pushed(s, pushes))

    done = stored(engine, pushed)
    assert (done.push_pending, done.pushed_status, done.push_error) == (False, "delivered", None)
    still = stored(engine, moved)
    assert (still.push_pending, still.pushed_status) == (True, None)  # delivered is still to tell


def test_failed_pushes_back_off_and_are_given_up_on(
    database_url: str, engine: Engine, portal: Portal
) -> None:
    first = add_message(engine, portal, **final())
    fourth = add_message(engine, portal, **final(push_attempts=3))
    capped = add_message(engine, portal, **final(push_attempts=10))
    last = add_message(engine, portal, **final(push_attempts=MAX_PUSH_ATTEMPTS - 1))
    gone = add_message(engine, portal, **final())
    failures = [
        (pending_push(engine, first), "Bitrix24: 500", True),
        (pending_push(engine, fourth), "Bitrix24: 500", True),
        (pending_push(engine, capped), "Bitrix24: 500", True),
        (pending_push(engine, last), "Bitrix24: 500", True),
        (pending_push(engine, gone), "Bitrix24: ERROR_MESSAGE_NOT_FOUND", False),
    ]
    before = utcnow()

    given_up = in_session(database_url, lambda s: push_queue.mark_failed(s, failures, BACKOFF, CAP))

    after = utcnow()
    assert sorted(push.pk for push in given_up) == [last, gone]
    for pk, attempts, delay in ((first, 1, BACKOFF), (fourth, 4, BACKOFF * 8), (capped, 11, CAP)):
        message = stored(engine, pk)
        assert (message.push_pending, message.push_attempts) == (True, attempts)
        assert message.push_error == "Bitrix24: 500"
        assert message.next_push_at is not None
        wait = timedelta(seconds=delay)
        assert before + wait <= message.next_push_at <= after + wait
    for pk, attempts in ((last, MAX_PUSH_ATTEMPTS), (gone, 1)):
        message = stored(engine, pk)
        assert (message.push_pending, message.push_attempts) == (False, attempts)
    assert stored(engine, gone).push_error == "Bitrix24: ERROR_MESSAGE_NOT_FOUND"
