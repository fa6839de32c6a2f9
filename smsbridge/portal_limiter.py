"""A portal's Bitrix24 REST budget as a leaky bucket every process shares, in its database row.

Bitrix24 counts requests per portal (and source IP) in a bucket that drains at `rate` per second
and refuses with 503 QUERY_LIMIT_EXCEEDED past `burst`. We keep the bucket as GCRA's theoretical
arrival time (TAT) on the portal row and take a slot under a row lock, so the pusher, the flows
and every replica draw on one budget. A request may go when the bucket holds no more than
`burst - HEADROOM`; the headroom absorbs network jitter between our clock and Bitrix24's.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Portal
from smsbridge.metrics import RATE_LIMIT_WAIT

HEADROOM = 2


class PortalRateLimiter:
    """`clients.bitrix24.limiter.RateLimiter` backed by the portal's row."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], portal_id: int) -> None:
        self.sessions = sessions
        self.portal_id = portal_id
        self.waited = 0.0  # seconds spent waiting for slots, for metrics

    async def acquire(self) -> None:
        delay = await self._reserve(penalty=0.0)
        if delay > 0:
            self.waited += delay
            RATE_LIMIT_WAIT.inc(delay)
            await asyncio.sleep(delay)

    async def penalize(self, seconds: float) -> None:
        """After a 503: treat the bucket as full, and hold everyone back `seconds` more."""
        await self._reserve(penalty=seconds)

    async def _reserve(self, penalty: float) -> float:
        async with self.sessions() as session:
            portal = (
                await session.execute(
                    select(Portal).where(col(Portal.id) == self.portal_id).with_for_update()
                )
            ).scalar_one()
            interval = 1.0 / portal.rate_per_second
            capacity = max(1, portal.rate_burst - HEADROOM) * interval
            now = time.time()
            tat = max(portal.rate_tat or now, now)
            if penalty:
                portal.rate_tat = max(tat, now + penalty + capacity)
                delay = 0.0
            else:
                start = max(now, tat + interval - capacity)
                portal.rate_tat = max(tat, start) + interval
                delay = start - now
            session.add(portal)
            await session.commit()
            return delay
