"""The status-push queue in the database: which portal to push for, what, and how it went.

A pusher leases a whole portal (one pusher per portal at a time, across replicas), so its pushes
leave in order and its rate budget is spent by one hand.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Update, bindparam, exists, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from clients.backoff import backoff
from models import Message, Portal
from models.locks import lock_messages
from models.types import UTCDateTime, utcnow
from smsbridge.portals.tokens import callable_clause
from smsbridge.rules.origin import Source
from smsbridge.sent_flag.flag import flag_due_clause
from smsbridge.status.states import BITRIX24_STATUS, State

MAX_PUSH_ATTEMPTS = 30
NOT_FOUND = "ERROR_MESSAGE_NOT_FOUND"


@dataclass(frozen=True, slots=True)
class PendingPush:
    pk: int
    message_id: str
    provider_code: str
    state: State
    attempts: int

    @property
    def status(self) -> str:
        return BITRIX24_STATUS[self.state]


async def claim_portal(session: AsyncSession, worker: str, lease: timedelta) -> Portal | None:
    now = utcnow()
    values = {"now": now, "worker": worker, "until": now + lease}
    portal_id = (await session.execute(_CLAIM_PORTAL, values)).scalar()
    await session.commit()
    return await session.get(Portal, portal_id) if portal_id is not None else None


def _claim_portal_statement() -> Update:
    """Lease the portal that waited longest with pushes (or sent flags) due. Built once and given
    its times at execution: every pusher asks after every wake-up."""
    now = bindparam("now", type_=UTCDateTime())
    push_due = (
        col(Message.push_pending).is_(True)
        & (col(Message.source) != Source.TEST)
        & or_(col(Message.next_push_at).is_(None), col(Message.next_push_at) <= now)
    )
    due = exists().where(col(Message.portal_id) == Portal.id, or_(push_due, flag_due_clause()))
    candidate = (
        select(Portal.id)
        .where(
            callable_clause(),
            or_(col(Portal.push_lease_until).is_(None), col(Portal.push_lease_until) < now),
            due,
        )
        .order_by(col(Portal.push_lease_until).asc().nulls_first(), col(Portal.id))
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return (
        update(Portal)
        .where(col(Portal.id).in_(candidate.scalar_subquery()))
        .values(
            push_claimed_by=bindparam("worker"),
            push_lease_until=bindparam("until", type_=UTCDateTime()),
        )
        .returning(Portal.id)
    )


_CLAIM_PORTAL = _claim_portal_statement()


async def extend_lease(
    session: AsyncSession, portal_id: int, worker: str, lease: timedelta
) -> bool:
    statement = (
        update(Portal)
        .where(col(Portal.id) == portal_id, col(Portal.push_claimed_by) == worker)
        .values(push_lease_until=utcnow() + lease)
        .returning(Portal.id)
    )
    held = (await session.execute(statement)).scalar() is not None
    await session.commit()
    return held


async def release_portal(session: AsyncSession, portal_id: int, worker: str) -> None:
    await session.execute(
        update(Portal)
        .where(col(Portal.id) == portal_id, col(Portal.push_claimed_by) == worker)
        .values(push_claimed_by=None, push_lease_until=utcnow())
    )
    await session.commit()


async def pending(session: AsyncSession, portal_id: int, limit: int) -> list[PendingPush]:
    now = utcnow()
    rows = (
        await session.execute(
            select(
                Message.id,
                Message.message_id,
                Message.provider_code,
                Message.state,
                Message.push_attempts,
            )
            .where(
                col(Message.portal_id) == portal_id,
                col(Message.push_pending).is_(True),
                col(Message.source) != Source.TEST,  # Bitrix24 has no such message
                or_(col(Message.next_push_at).is_(None), col(Message.next_push_at) <= now),
            )
            .order_by(col(Message.next_push_at).asc().nulls_first(), col(Message.id))
            .limit(limit)
        )
    ).all()
    return [
        PendingPush(r.id, r.message_id, r.provider_code, State(r.state), r.push_attempts)
        for r in rows
    ]


async def mark_pushed(session: AsyncSession, pushes: list[PendingPush]) -> None:
    """Bitrix24 took these; unless the state moved on meanwhile, nothing is left to push.

    One UPDATE per pushed state (the status told follows from it), not one per message.
    """
    await lock_messages(session, [push.pk for push in pushes])
    by_state: dict[State, list[int]] = defaultdict(list)
    for push in pushes:
        by_state[push.state].append(push.pk)
    for state, pks in by_state.items():
        await session.execute(
            update(Message)
            .where(col(Message.id).in_(pks), col(Message.state) == state)
            .values(push_pending=False, pushed_status=BITRIX24_STATUS[state], push_error=None)
        )
    await session.commit()


async def mark_failed(
    session: AsyncSession,
    failures: list[tuple[PendingPush, str, bool]],
    base: float,
    cap: float,
) -> list[PendingPush]:
    """Record failed pushes: (push, reason, retry?), retried `base` seconds later, doubling up to
    `cap`. Those given up on are returned."""
    now = utcnow()
    given_up = []
    await lock_messages(session, [push.pk for push, _, _ in failures])
    for push, reason, retry in failures:
        attempts = push.attempts + 1
        if retry and attempts < MAX_PUSH_ATTEMPTS:
            values: dict[str, object] = {
                "push_attempts": attempts,
                "next_push_at": now + timedelta(seconds=backoff(attempts, base, cap)),
                "push_error": reason,
            }
        else:
            values = {"push_attempts": attempts, "push_pending": False, "push_error": reason}
            given_up.append(push)
        await session.execute(update(Message).where(col(Message.id) == push.pk).values(**values))
    await session.commit()
    return given_up
