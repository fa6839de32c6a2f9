"""A portal's Bitrix24 REST budget as a leaky bucket every process shares, in its database row.

Bitrix24 counts requests per portal (and source IP) in a bucket that drains at `rate` per second
and refuses with 503 QUERY_LIMIT_EXCEEDED past `burst`. We keep the bucket's GCRA theoretical
arrival time (TAT) on the portal row and step it with `clients.bitrix24.limiter.Bucket` under a
row lock, so the pusher, the flows and every replica draw on one budget. A request may go when the
bucket holds no more than `burst - HEADROOM`; the headroom absorbs network jitter between our clock
and Bitrix24's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from clients.bitrix24.limiter import Bucket
from models import Portal
from smsbridge.metrics import RATE_LIMIT_WAIT

HEADROOM = 2


class PortalRateLimiter:
    """`clients.bitrix24.limiter.RateLimiter` backed by the portal's row.

    The clock is wall time, since the TAT is compared across processes and restarts.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        portal_id: int,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.sessions = sessions
        self.portal_id = portal_id
        self._clock = clock
        self._sleep = sleep

    async def acquire(self) -> None:
        delay = await self._step(hold=None)
        if delay > 0:
            RATE_LIMIT_WAIT.inc(delay)
            await self._sleep(delay)

    async def penalize(self, seconds: float) -> None:
        """After a 503: treat the bucket as full, and hold everyone back `seconds` more."""
        await self._step(hold=seconds)

    async def _step(self, hold: float | None) -> float:
        """Take a slot (or, given `hold`, fill the bucket) under the row lock; the wait."""
        async with self.sessions() as session:
            portal = (
                await session.execute(
                    select(Portal)
                    .where(col(Portal.id) == self.portal_id)
                    .with_for_update(key_share=True)  # NO KEY UPDATE: messages' FK checks pass
                )
            ).scalar_one()
            bucket = Bucket(portal.rate_per_second, max(1, portal.rate_burst - HEADROOM))
            now = self._clock()
            if hold is None:
                portal.rate_tat, delay = bucket.take(portal.rate_tat, now)
            else:
                portal.rate_tat, delay = bucket.full(portal.rate_tat, now, hold), 0.0
            session.add(portal)
            await session.commit()
            return delay
