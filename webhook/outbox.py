"""The outbox in the database: claiming messages, and recording what their send came to.

Claims are atomic and exclusive across replicas: one `UPDATE … WHERE id IN (SELECT … FOR UPDATE
SKIP LOCKED)` on PostgreSQL; on SQLite the single statement holds the database's write lock.
A claim is a lease: a message found still `sending` after its lease ran out was interrupted
mid-call, and is failed rather than resent (docs/architecture.md, "The in-flight window").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Select, bindparam, exists, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Message, Portal, StatusLog
from models.locks import lock_messages_where
from models.message import PUSH_NOW
from models.types import utcnow
from models.writes import append_status_log, update_messages
from smsbridge.portals.lifecycle import UNINSTALLED
from smsbridge.rules.origin import Kind
from smsbridge.rules.phones import smsru_number
from smsbridge.status.failures import POLICY, Failure
from smsbridge.status.schedule import FIRST_POLL
from smsbridge.status.states import State

# A marketing claim takes at most this many seconds' worth of the portal's pace at once.
PACE_BURST_SECONDS = 10

INTERRUPTED = (
    "the send was interrupted before SMS.ru answered; SMS.ru may or may not have accepted it, "
    "and it is not resent because a resend could deliver it twice"
)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A message claimed for sending: what the sender needs, nothing more."""

    pk: int
    portal_id: int
    message_id: str
    number: str  # as SMS.ru takes it: international digits, no plus
    text: str
    kind: str
    attempts: int
    accepted_at: datetime
    source: str = ""
    entity_type: str | None = None
    entity_id: int | None = None

    @property
    def e164(self) -> str:
        return "+" + self.number


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one message's send came to. `pause`: the account needs attention; wait and retry."""

    kind: Literal["sent", "failed", "retry", "pause"]
    code: int | None = None
    sms_id: str | None = None
    reason: str | None = None
    not_before: datetime | None = None  # for retry and pause
    failure: Failure | None = None  # why, when failed
    comment: str | None = None  # a refusal's, for the CRM item's timeline (portal's language)


async def claim(
    session: AsyncSession,
    worker: str,
    limit: int,
    lease: timedelta,
    kind: str | None = None,
) -> list[Claimed]:
    """Claim up to `limit` ready messages of one kind (a lane), or of any kind (`None`: FIFO).

    Marketing is claimed one portal at a time, at most what that portal's pace allows now, and
    the portal's `marketing_next_at` is moved on by as much, in the same transaction."""
    now = utcnow()
    ready = _ready(now, kind)
    paced = None
    if kind == Kind.MARKETING:
        waiting = exists().where(
            Message.portal_id == Portal.id,
            Message.state == State.QUEUED,
            Message.kind == kind,
            Message.next_attempt_at <= now,
            or_(Portal.paused_until.is_(None), Portal.paused_until <= now),
            Portal.uninstalled_at.is_(None),  # type: ignore[union-attr]
        )
        paced = (
            await session.execute(
                select(Portal.id, Portal.marketing_pace, Portal.marketing_next_at)
                .where(
                    waiting,
                    or_(Portal.paused_until.is_(None), Portal.paused_until <= now),
                    or_(Portal.marketing_next_at.is_(None), Portal.marketing_next_at <= now),
                )
                .order_by(Portal.marketing_next_at.asc().nulls_first(), Portal.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
        ).first()
        if paced is None:
            await session.commit()
            return []
        limit = max(1, min(limit, max(1, paced.marketing_pace) * PACE_BURST_SECONDS // 60))
        ready = ready.where(Message.portal_id == paced.id)
    statement = (
        update(Message)
        .where(Message.id.in_(ready.limit(limit).scalar_subquery()))
        .values(
            state=State.SENDING,
            claimed_by=worker,
            lease_until=now + lease,
            attempts=Message.attempts + 1,
            updated_at=now,
        )
        .returning(
            Message.id,
            Message.portal_id,
            Message.message_id,
            Message.recipient,
            Message.text,
            Message.kind,
            Message.attempts,
            Message.accepted_at,
            Message.source,
            Message.entity_type,
            Message.entity_id,
        )
    )
    rows = (await session.execute(statement)).all()
    if paced is not None and rows:
        start = max(now, paced.marketing_next_at or now)
        spent = timedelta(seconds=len(rows) * 60 / max(1, paced.marketing_pace))
        await session.execute(
            update(Portal).where(Portal.id == paced.id).values(marketing_next_at=start + spent)
        )
    await session.commit()
    claimed = [
        Claimed(
            row.id,
            row.portal_id,
            row.message_id,
            smsru_number(row.recipient),
            row.text,
            row.kind,
            row.attempts,
            row.accepted_at,
            row.source,
            row.entity_type,
            row.entity_id,
        )
        for row in rows
    ]
    return sorted(claimed, key=lambda message: message.pk)


def _ready(now: datetime, kind: str | None) -> Select[tuple[int]]:
    ready = (
        select(Message.id)
        .join(Portal, Portal.id == Message.portal_id)
        .where(
            Message.state == State.QUEUED,
            Message.next_attempt_at <= now,
            or_(Portal.paused_until.is_(None), Portal.paused_until <= now),
        )
        .order_by(Message.next_attempt_at, Message.id)
        .with_for_update(of=Message, skip_locked=True)
    )
    return ready if kind is None else ready.where(Message.kind == kind)


async def fail_interrupted(session: AsyncSession) -> list[tuple[int, str, str]]:
    """Fail the messages whose lease ran out mid-send; (pk, message_id, kind) of each."""
    now = utcnow()
    return await _fail_where(
        session,
        now,
        INTERRUPTED,
        (Message.state == State.SENDING, Message.lease_until < now),  # type: ignore[operator]
        failure=Failure.INTERRUPTED,
        lease_until=None,
        flag_pending=False,
        **PUSH_NOW,
    )


async def fail_uninstalled(session: AsyncSession) -> list[tuple[int, str, str]]:
    """Fail the queued messages of uninstalled portals: those the uninstall found mid-send and
    a retry put back in the queue. (pk, message_id, kind) of each."""
    uninstalled = select(Portal.id).where(Portal.uninstalled_at.is_not(None))  # type: ignore[union-attr]
    return await _fail_where(
        session,
        utcnow(),
        UNINSTALLED,
        (Message.state == State.QUEUED, Message.portal_id.in_(uninstalled)),  # type: ignore[attr-defined]
    )


async def _fail_where(
    session: AsyncSession,
    now: datetime,
    reason: str,
    where: tuple[Any, ...],
    **values: Any,
) -> list[tuple[int, str, str]]:
    """Fail every message `where` says, with `reason` in its row and its status log, and commit;
    (pk, message_id, kind) of each."""
    await lock_messages_where(session, *where)
    statement = (
        update(Message)
        .where(*where)
        .values(state=State.FAILED, error=reason, final_at=now, updated_at=now, **values)
        .returning(Message.id, Message.message_id, Message.kind)
    )
    rows = [(r.id, r.message_id, r.kind) for r in (await session.execute(statement)).all()]
    session.add_all(
        StatusLog(
            message_pk=pk, state=State.FAILED, source="sender", detail=reason, observed_at=now
        )
        for pk, _, _ in rows
    )
    await session.commit()
    return rows


async def record(
    session: AsyncSession,
    worker: str,
    verdicts: list[tuple[Claimed, Verdict]],
    smsru_key: str | None = None,
) -> int:
    """Store each verdict on its message, if this worker still holds its claim; how many did.

    `smsru_key`: the fingerprint of the key the send used, kept on the message so that only a
    callback signed with that key moves it.

    The caller commits, together with the portal's pause or resume, so that no reader sees a
    message sent while its portal still looks paused. The claims still held are read and locked
    first (in id order, as every writer locks), then written in a few executemany statements:
    100 verdicts cost a handful of round trips, not 100.
    """
    now = utcnow()
    pks = [message.pk for message, _ in verdicts]
    held = set((await session.execute(_HELD, {"pks": pks, "worker": worker})).scalars())
    changes: dict[int, dict[str, object]] = {}
    log: list[dict[str, object]] = []
    for message, verdict in verdicts:
        if message.pk not in held or message.pk in changes:
            continue
        values = _values(verdict, now)
        if smsru_key is not None:
            values["smsru_key"] = smsru_key
        if verdict.failure in POLICY and message.entity_id is not None:
            values["comment_pending"] = True  # the manager reads why on the item's timeline
            values["comment"] = verdict.comment
        changes[message.pk] = values | {"claimed_by": None, "lease_until": None, "updated_at": now}
        log.append(
            {
                "message_pk": message.pk,
                "state": str(values["state"]),
                "smsru_code": verdict.code,
                "source": "sender",
                "detail": verdict.reason,
                "observed_at": now,
            }
        )
    await update_messages(session, changes)
    await append_status_log(session, log)
    return len(changes)


_HELD = (
    select(Message.id)
    .where(
        Message.id.in_(bindparam("pks", expanding=True)),
        Message.state == State.SENDING,
        Message.claimed_by == bindparam("worker"),
    )
    .order_by(Message.id)
    .with_for_update()
)


def _values(verdict: Verdict, now: datetime) -> dict[str, object]:
    if verdict.kind == "sent":
        return {
            "state": State.SENT,
            "sms_id": verdict.sms_id,
            "send_code": verdict.code,
            "status_code": verdict.code,
            "error": None,
            "sent_at": now,
            "next_poll_at": now + FIRST_POLL,
        }
    if verdict.kind == "failed":
        return {
            "state": State.FAILED,
            "sms_id": verdict.sms_id,
            "send_code": verdict.code,
            "error": verdict.reason,
            "failure": verdict.failure,
            "final_at": now,
            "flag_pending": False,
            **PUSH_NOW,
        }
    return {
        "state": State.QUEUED,
        "error": verdict.reason,
        "next_attempt_at": verdict.not_before or now,
    }


async def pause_portal(session: AsyncSession, portal_id: int, until: datetime, reason: str) -> bool:
    """Pause a portal's sending; True if it was not paused already (the caller logs it once).

    The caller commits."""
    portal = await session.get(Portal, portal_id)
    if portal is None:
        return False
    was_paused = portal.pause_reason is not None
    portal.paused_until, portal.pause_reason, portal.updated_at = until, reason, utcnow()
    return not was_paused


async def resume_portal(session: AsyncSession, portal_id: int) -> bool:
    """Clear a pause after a successful send; True if there was one. The caller commits."""
    statement = (
        update(Portal)
        .where(Portal.id == portal_id, Portal.pause_reason.is_not(None))
        .values(paused_until=None, pause_reason=None, updated_at=utcnow())
        .returning(Portal.id)
    )
    return (await session.execute(statement)).scalar() is not None
