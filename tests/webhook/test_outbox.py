"""The outbox on the real database: claims are exclusive, a lease that ran out fails its message
instead of resending it, and `record` stores only what the claiming worker still holds."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import Engine, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import Session, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from support.rows import queued_message, with_sessions

from models import Message, Portal, StatusLog
from models.types import utcnow
from smsbridge.portals.lifecycle import UNINSTALLED
from smsbridge.status.schedule import FIRST_POLL
from webhook import outbox
from webhook.outbox import INTERRUPTED, Claimed, Verdict

LEASE = timedelta(minutes=10)
Sessions = async_sessionmaker[AsyncSession]


def queue(engine: Engine, portal: Portal, count: int, **values: object) -> list[int]:
    with Session(engine) as session:
        messages = [
            queued_message(portal, f"7916{n:07d}", f"message {n}", **values) for n in range(count)
        ]
        session.add_all(messages)
        session.commit()
        return [m.id for m in messages if m.id is not None]


def stored(engine: Engine) -> dict[int, Message]:
    with Session(engine) as session:
        return {m.id: m for m in session.exec(select(Message)) if m.id is not None}


def log_of(engine: Engine) -> list[tuple[int, str, int | None, str | None]]:
    with Session(engine) as session:
        rows = session.exec(
            select(
                StatusLog.message_pk, StatusLog.state, StatusLog.smsru_code, StatusLog.source
            ).order_by(col(StatusLog.id))
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def claim(database_url: str, worker: str, limit: int = 100) -> list[Claimed]:
    async def work(sessions: Sessions) -> list[Claimed]:
        async with sessions() as session:
            return await outbox.claim(session, worker, limit, LEASE)

    return with_sessions(database_url, work)


def record(database_url: str, worker: str, verdicts: list[tuple[Claimed, Verdict]]) -> int:
    async def work(sessions: Sessions) -> int:
        async with sessions() as session:
            held = await outbox.record(session, worker, verdicts)
            await session.commit()  # the caller's, with the portal's pause or resume
            return held

    return with_sessions(database_url, work)


def test_workers_claiming_at_once_never_share_a_message(
    database_url: str, engine: Engine, portal: Portal
) -> None:
    pks = queue(engine, portal, 60)

    async def rounds(sessions: Sessions) -> dict[str, list[int]]:
        taken: dict[str, list[int]] = {f"worker-{n}": [] for n in range(4)}

        async def take(worker: str) -> int:
            async with sessions() as session:
                claimed = await outbox.claim(session, worker, 7, LEASE)
            taken[worker] += [message.pk for message in claimed]
            return len(claimed)

        while sum(await asyncio.gather(*(take(worker) for worker in taken))):
            pass
        return taken

    taken = with_sessions(database_url, rounds)

    every = [pk for claimed in taken.values() for pk in claimed]
    assert sorted(every) == pks  # each message claimed once, by one worker
    messages = stored(engine)
    for worker, claimed in taken.items():
        for pk in claimed:
            message = messages[pk]
            assert (message.state, message.claimed_by, message.attempts) == ("sending", worker, 1)
            assert message.lease_until is not None and message.lease_until > utcnow() + LEASE / 2


def test_a_claim_takes_only_due_messages_of_portals_not_paused(
    database_url: str, engine: Engine, portal: Portal
) -> None:
    later = utcnow() + timedelta(minutes=5)
    [due] = queue(engine, portal, 1)
    queue(engine, portal, 1, next_attempt_at=later)  # a retry waiting out its backoff
    queue(engine, portal, 1, state="sent")
    other = Portal(member_id="paused-portal", paused_until=later, pause_reason="SMS.ru 201")
    with Session(engine) as session:
        session.add(other)
        session.commit()
        session.refresh(other)
    queue(engine, other, 1)

    claimed = claim(database_url, "worker")

    assert [message.pk for message in claimed] == [due]
    [message] = claimed
    assert (message.number, message.text, message.attempts) == ("79160000000", "message 0", 1)


def test_an_expired_lease_fails_its_message_and_it_is_not_resent(
    database_url: str, engine: Engine, portal: Portal
) -> None:
    now = utcnow()
    [expired] = queue(
        engine,
        portal,
        1,
        state="sending",
        attempts=1,
        claimed_by="dead-worker",
        lease_until=now - timedelta(seconds=1),
    )
    [held] = queue(
        engine, portal, 1, state="sending", attempts=1, claimed_by="live", lease_until=now + LEASE
    )

    async def sweep(sessions: Sessions) -> list[tuple[int, str, str]]:
        async with sessions() as session:
            return await outbox.fail_interrupted(session)

    failed = with_sessions(database_url, sweep)

    assert [pk for pk, _, _ in failed] == [expired]
    messages = stored(engine)
    message = messages[expired]
    assert (message.state, message.error, message.lease_until) == ("failed", INTERRUPTED, None)
    assert message.final_at is not None
    assert (message.push_pending, message.flag_pending) == (True, False)  # the portal is told
    assert messages[held].state == "sending"  # its worker may still be waiting on SMS.ru
    assert log_of(engine) == [(expired, "failed", None, "sender")]
    assert claim(database_url, "worker") == []  # failed is final: never claimed again


def test_the_sweep_fails_the_queued_messages_of_uninstalled_portals_only(
    database_url: str, engine: Engine, portal: Portal
) -> None:
    gone = Portal(member_id="uninstalled-portal", uninstalled_at=utcnow())
    with Session(engine) as session:
        session.add(gone)
        session.commit()
        session.refresh(gone)
    queued = queue(engine, gone, 2)
    queued += queue(engine, gone, 1, next_attempt_at=utcnow() + timedelta(minutes=5))  # a retry
    [sent] = queue(engine, gone, 1, state="sent")  # its outcome stays SMS.ru's
    [sending] = queue(  # its worker records the verdict; the interrupted sweep covers a dead one
        engine, gone, 1, state="sending", claimed_by="live", lease_until=utcnow() + LEASE
    )
    [ours] = queue(engine, portal, 1)  # an installed portal's message waits its turn

    async def sweep(sessions: Sessions) -> list[tuple[int, str, str]]:
        async with sessions() as session:
            return await outbox.fail_uninstalled(session)

    failed = with_sessions(database_url, sweep)

    assert sorted(pk for pk, _, _ in failed) == sorted(queued)
    messages = stored(engine)
    for pk in queued:
        message = messages[pk]
        assert (message.state, message.error) == ("failed", UNINSTALLED)
        assert message.final_at is not None
    assert [messages[pk].state for pk in (sent, sending, ours)] == ["sent", "sending", "queued"]
    assert sorted(log_of(engine)) == [(pk, "failed", None, "sender") for pk in sorted(queued)]
    assert [message.pk for message in claim(database_url, "worker")] == [ours]
    assert with_sessions(database_url, sweep) == []  # nothing left to fail


def test_record_stores_each_verdict_on_the_claims_still_held(
    database_url: str, engine: Engine, portal: Portal
) -> None:
    queue(engine, portal, 5)
    claimed = claim(database_url, "worker")
    sent, failed, retried, paused, lost = claimed
    with Session(engine) as session:  # lost's lease ran out, and the sweep failed it meanwhile
        session.execute(
            update(Message).where(col(Message.id) == lost.pk).values(state="failed", error="swept")
        )
        session.commit()
    later = utcnow() + timedelta(seconds=30)
    verdicts = [
        (sent, Verdict("sent", code=100, sms_id="202604-1")),
        (sent, Verdict("failed", code=207, reason="repeated: ignored")),
        (failed, Verdict("failed", code=207, reason="SMS.ru 207: no route")),
        (retried, Verdict("retry", reason="SMS.ru 220: busy", not_before=later)),
        (paused, Verdict("pause", reason="SMS.ru 201: no money", not_before=later)),
        (lost, Verdict("sent", code=100, sms_id="202604-5")),
    ]

    assert record(database_url, "worker", verdicts) == 4

    messages = stored(engine)
    for message in messages.values():
        if message.id != lost.pk:
            assert (message.claimed_by, message.lease_until) == (None, None)
    done = messages[sent.pk]
    assert (done.state, done.sms_id, done.send_code, done.status_code) == (
        "sent",
        "202604-1",
        100,
        100,
    )
    assert done.sent_at is not None and done.next_poll_at == done.sent_at + FIRST_POLL
    refused = messages[failed.pk]
    assert (refused.state, refused.send_code, refused.error) == (
        "failed",
        207,
        "SMS.ru 207: no route",
    )
    assert refused.final_at is not None and refused.push_pending is True
    for pk, reason in ((retried.pk, "SMS.ru 220: busy"), (paused.pk, "SMS.ru 201: no money")):
        waiting = messages[pk]
        assert (waiting.state, waiting.error, waiting.attempts) == ("queued", reason, 1)
        assert waiting.next_attempt_at == later
    assert (messages[lost.pk].state, messages[lost.pk].error) == ("failed", "swept")
    assert log_of(engine) == [
        (sent.pk, "sent", 100, "sender"),
        (failed.pk, "failed", 207, "sender"),
        (retried.pk, "queued", None, "sender"),
        (paused.pk, "queued", None, "sender"),
    ]


def test_record_stores_nothing_for_another_workers_claim(
    database_url: str, engine: Engine, portal: Portal
) -> None:
    queue(engine, portal, 1)
    [claimed] = claim(database_url, "worker")

    assert record(database_url, "not-the-claimer", [(claimed, Verdict("sent", 100, "x"))]) == 0

    message = stored(engine)[claimed.pk]
    assert (message.state, message.claimed_by, message.sms_id) == ("sending", "worker", None)
    assert log_of(engine) == []
