"""Asking SMS.ru for the statuses callbacks did not bring, 100 ids a call.

Each message not yet final is polled on its own schedule (`smsbridge.status.schedule`); what SMS.ru
answers goes through the same status machine as callbacks, so a poll can never move a message back.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import httpx
from sqlalchemy import case, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from clients.smsru.client import CALLS_AT_ONCE, MAX_PER_REQUEST
from clients.smsru.errors import SmsRuError
from models import Message, Portal
from models.types import utcnow
from smsbridge.config import Settings
from smsbridge.logs import fields
from smsbridge.portals.retired_keys import key_ring
from smsbridge.portals.smsru import smsru_client
from smsbridge.status.observations import Observation, apply_observations
from smsbridge.status.schedule import next_poll_at
from smsbridge.status.states import ACCEPTED, FINAL

log = logging.getLogger("smsbridge.poll")


@dataclass
class PollSummary:
    due: int = 0
    polled: int = 0
    advanced: int = 0
    failed_calls: int = 0
    no_key: int = 0  # due, but neither the portal nor SMSRU_API_ID has an SMS.ru key


@dataclass(frozen=True, slots=True)
class _Due:
    pk: int
    sms_id: str
    sent_at: datetime
    polls: int


async def poll_due(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    http: httpx.AsyncClient,
    limit: int = 20_000,
) -> PollSummary:
    """Poll every message whose poll is due (at most `limit`); what it came to."""
    summary = PollSummary()
    by_key, summary.no_key = await _due_by_key(sessions, settings, limit)
    summary.due = sum(len(due) for due in by_key.values()) + summary.no_key
    if summary.no_key:
        log.warning(
            "status poll skipped %s", fields(messages=summary.no_key, reason="no SMS.ru key")
        )
    gate = asyncio.Semaphore(CALLS_AT_ONCE)

    async def poll_chunk(api_id: str, chunk: list[_Due]) -> None:
        async with gate:
            client = smsru_client(api_id, settings, http)
            try:
                reply = await client.status([due.sms_id for due in chunk])
            except SmsRuError as exc:
                summary.failed_calls += 1
                log.warning("status poll failed %s", fields(ids=len(chunk), reason=str(exc)))
                return
            now = utcnow()
            observations = [
                Observation(sms_id, status.status_code, "poll", now, status.cost)
                for sms_id, status in reply.statuses.items()
            ]
            async with sessions() as session:
                applied = await apply_observations(session, observations)
                await _reschedule(session, chunk, now)
            summary.polled += len(chunk)
            summary.advanced += applied.advanced

    chunks = [
        (api_id, due[start : start + MAX_PER_REQUEST])
        for api_id, due in by_key.items()
        for start in range(0, len(due), MAX_PER_REQUEST)
    ]
    await asyncio.gather(*(poll_chunk(api_id, chunk) for api_id, chunk in chunks))
    return summary


async def _due_by_key(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, limit: int
) -> tuple[dict[str, list[_Due]], int]:
    """Due messages by the SMS.ru key to ask with (the one each was sent with: SMS.ru knows a
    message only under its own account), and how many have no key."""
    now = utcnow()
    async with sessions() as session:
        rows = (
            await session.execute(
                select(
                    Message.id,
                    Message.sms_id,
                    Message.sent_at,
                    Message.polls,
                    Message.smsru_key,
                    Portal,
                )
                .join(Portal, col(Portal.id) == Message.portal_id)
                .where(
                    # Not final yet, or final by a callback and still without a price
                    # (see status.observations).
                    col(Message.state).in_(ACCEPTED),
                    col(Message.sms_id).is_not(None),
                    col(Message.next_poll_at) <= now,
                )
                .order_by(col(Message.next_poll_at))
                .limit(limit)
            )
        ).all()
        if not rows:  # an idle pass writes nothing
            return {}, 0
        keys = await key_ring(session, settings, now)
    by_key: dict[str, list[_Due]] = defaultdict(list)
    no_key = 0
    for row in rows:
        api_id = keys.key_for(row.Portal, row.smsru_key)
        if api_id:
            by_key[api_id].append(_Due(row.id, row.sms_id, row.sent_at or now, row.polls))
        else:
            no_key += 1
    return by_key, no_key


async def _reschedule(session: AsyncSession, chunk: list[_Due], now: datetime) -> None:
    """The next poll of each message still on its way; a final one is polled no more."""
    for due in sorted(chunk, key=lambda due: due.pk):  # id order, as every writer locks
        await session.execute(
            update(Message)
            .where(col(Message.id) == due.pk)
            .values(
                polls=due.polls + 1,
                next_poll_at=case(
                    (col(Message.state).in_(FINAL), None),
                    else_=next_poll_at(due.sent_at, due.polls + 1, now),
                ),
            )
        )
    await session.commit()
