"""The production rate limiter: a portal's bucket in its database row, on a fake clock.

The bucket lets `burst - HEADROOM` requests go at once, then one per interval; every limiter on the
same portal (every process) draws on the one row, and a 503 fills the bucket for everyone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import Session, col
from sqlmodel.ext.asyncio.session import AsyncSession
from support.rows import with_sessions

from models import Portal
from smsbridge.metrics import REGISTRY
from smsbridge.portals.limiter import HEADROOM, PortalRateLimiter

START = 1_800_000_000.0  # wall-clock seconds, as the row stores them
Sessions = async_sessionmaker[AsyncSession]


class FakeTime:
    """Wall time that moves only when a caller sleeps (unless `frozen`)."""

    def __init__(self, frozen: bool = False) -> None:
        self.now = START
        self.frozen = frozen
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if not self.frozen:
            self.now += seconds


@pytest.fixture
def run(database_url: str) -> Callable[[Callable[[Sessions], Awaitable[Any]]], Any]:
    """Run `work(sessions)` on a fresh event loop against the test database."""

    def run(work: Callable[[Sessions], Awaitable[Any]]) -> Any:
        return with_sessions(database_url, work)

    return run


def set_bucket(engine: Engine, portal: Portal, rate: float, burst: int) -> None:
    with Session(engine) as session:
        session.execute(
            update(Portal)
            .where(col(Portal.id) == portal.id)
            .values(rate_per_second=rate, rate_burst=burst)
        )
        session.commit()


def stored_tat(engine: Engine, portal: Portal) -> float | None:
    with Session(engine) as session:
        stored = session.get(Portal, portal.id)
        assert stored is not None
        return stored.rate_tat


def waited() -> float:
    return REGISTRY.get_sample_value("smsbridge_rate_limit_wait_seconds_total") or 0.0


def test_burst_less_headroom_goes_at_once_then_one_per_interval(
    run: Any, engine: Engine, portal: Portal
) -> None:
    assert (portal.rate_per_second, portal.rate_burst, HEADROOM) == (2.0, 50, 2)
    time = FakeTime()
    before = waited()

    async def work(sessions: Sessions) -> list[float]:
        assert portal.id is not None
        limiter = PortalRateLimiter(sessions, portal.id, clock=time.clock, sleep=time.sleep)
        went = []
        for _ in range(52):
            await limiter.acquire()
            went.append(time.now - START)
        return went

    went = run(work)
    assert went == pytest.approx([0.0] * 48 + [0.5, 1.0, 1.5, 2.0])
    assert time.sleeps == pytest.approx([0.5] * 4)
    assert waited() - before == pytest.approx(2.0)
    assert stored_tat(engine, portal) == pytest.approx(START + 52 * 0.5)


def test_limiters_of_one_portal_share_its_budget(run: Any, engine: Engine, portal: Portal) -> None:
    set_bucket(engine, portal, rate=5.0, burst=12)  # 10 at once
    time = FakeTime()

    async def work(sessions: Sessions) -> list[float]:
        assert portal.id is not None
        limiters = [
            PortalRateLimiter(sessions, portal.id, clock=time.clock, sleep=time.sleep)
            for _ in range(3)
        ]
        went = []
        for k in range(13):  # as three processes would, in turn
            await limiters[k % 3].acquire()
            went.append(time.now - START)
        return went

    # 0.2 s steps on a clock near 1.8e9 round to about 1e-7 s each way.
    assert run(work) == pytest.approx([0.0] * 10 + [0.2, 0.4, 0.6], abs=1e-5)


def test_racing_callers_never_share_a_slot(run: Any, engine: Engine, portal: Portal) -> None:
    set_bucket(engine, portal, rate=2.0, burst=6)  # 4 at once
    time = FakeTime(frozen=True)  # every caller reserves at the same instant

    async def work(sessions: Sessions) -> None:
        assert portal.id is not None
        limiters = [
            PortalRateLimiter(sessions, portal.id, clock=time.clock, sleep=time.sleep)
            for _ in range(4)
        ]
        await asyncio.gather(*(limiters[k % 4].acquire() for k in range(12)))

    run(work)
    assert sorted(time.sleeps) == pytest.approx([0.5 * k for k in range(1, 9)])  # 4 went at once
    assert stored_tat(engine, portal) == pytest.approx(START + 12 * 0.5)


def test_a_penalty_fills_the_bucket_for_every_limiter(
    run: Any, engine: Engine, portal: Portal
) -> None:
    time = FakeTime(frozen=True)

    async def work(sessions: Sessions) -> None:
        assert portal.id is not None
        first, second = (
            PortalRateLimiter(sessions, portal.id, clock=time.clock, sleep=time.sleep)
            for _ in range(2)
        )
        await first.acquire()
        await first.penalize(5.0)
        for _ in range(3):
            await second.acquire()

    run(work)
    assert time.sleeps == pytest.approx([5.5, 6.0, 6.5])  # full at +5 s, then one per interval


def test_a_small_burst_still_lets_one_request_go(run: Any, engine: Engine, portal: Portal) -> None:
    set_bucket(engine, portal, rate=2.0, burst=2)  # burst - HEADROOM is 0: one at a time
    time = FakeTime()

    async def work(sessions: Sessions) -> list[float]:
        assert portal.id is not None
        limiter = PortalRateLimiter(sessions, portal.id, clock=time.clock, sleep=time.sleep)
        went = []
        for _ in range(3):
            await limiter.acquire()
            went.append(time.now - START)
        return went

    assert run(work) == pytest.approx([0.0, 0.5, 1.0])


def test_an_idle_bucket_has_drained(run: Any, engine: Engine, portal: Portal) -> None:
    time = FakeTime()

    async def work(sessions: Sessions) -> int:
        assert portal.id is not None
        limiter = PortalRateLimiter(sessions, portal.id, clock=time.clock, sleep=time.sleep)
        for _ in range(48):
            await limiter.acquire()
        time.now += 1.0  # two requests drained
        for _ in range(3):
            await limiter.acquire()
        return len(time.sleeps)

    assert run(work) == 1 and time.sleeps == pytest.approx([0.5])
