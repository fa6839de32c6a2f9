"""LeakyBucket's timing, exactly, on a fake clock: no real sleeping."""

from __future__ import annotations

import asyncio

import pytest

from clients.bitrix24.limiter import LeakyBucket, RateLimiter


class FakeTime:
    """A clock that only moves when someone sleeps.

    `sleep` yields once to the event loop, then moves the clock to the sleeper's wake-up time:
    concurrent sleepers that wake in order of their wake-up times see exact virtual time.
    """

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        wake = self.now + seconds
        await asyncio.sleep(0)
        self.now = max(self.now, wake)


def bucket(time: FakeTime, rate: float = 2.0, burst: int = 50) -> LeakyBucket:
    return LeakyBucket(rate, burst, clock=time.clock, sleep=time.sleep)


def finish_times(time: FakeTime, limiter: LeakyBucket, n: int) -> list[float]:
    async def main() -> list[float]:
        done = []
        for _ in range(n):
            await limiter.acquire()
            done.append(time.now)
        return done

    return asyncio.run(main())


def test_is_a_rate_limiter() -> None:
    limiter: RateLimiter = LeakyBucket()
    assert limiter


@pytest.mark.parametrize(("rate", "burst", "n"), [(2.0, 50, 60), (5.0, 250, 260), (1.0, 1, 5)])
def test_n_requests_from_empty_finish_at_n_minus_burst_over_rate(
    rate: float, burst: int, n: int
) -> None:
    time = FakeTime()
    done = finish_times(time, bucket(time, rate, burst), n)
    expected = [max(0.0, (k - burst) / rate) for k in range(1, n + 1)]
    assert done == pytest.approx(expected)
    assert done[burst - 1] == 0.0  # the burst goes at once
    assert time.now == pytest.approx((n - burst) / rate)


def test_concurrent_callers_queue_in_call_order() -> None:
    time = FakeTime()
    limiter = bucket(time, rate=2.0, burst=3)
    done: dict[int, float] = {}

    async def one(k: int) -> None:
        await limiter.acquire()
        done[k] = time.now

    async def main() -> None:
        await asyncio.gather(*(one(k) for k in range(1, 9)))

    asyncio.run(main())
    assert [done[k] for k in range(1, 9)] == pytest.approx([0, 0, 0, 0.5, 1.0, 1.5, 2.0, 2.5])


def test_bucket_drains_while_idle() -> None:
    time = FakeTime()
    limiter = bucket(time, rate=2.0, burst=4)
    assert finish_times(time, limiter, 4) == [0, 0, 0, 0]
    time.now = 1.0  # two requests drained
    assert finish_times(time, limiter, 3) == pytest.approx([1.0, 1.0, 1.5])
    time.now = 100.0  # empty again, but no more than `burst` at once
    assert finish_times(time, limiter, 5) == pytest.approx([100, 100, 100, 100, 100.5])


def test_penalty_holds_the_next_requests_then_treats_the_bucket_as_full() -> None:
    time = FakeTime()
    limiter = bucket(time, rate=2.0, burst=50)

    async def main() -> list[float]:
        await limiter.acquire()
        await limiter.penalize(5.0)
        done = []
        for _ in range(3):
            await limiter.acquire()
            done.append(time.now)
        return done

    assert asyncio.run(main()) == pytest.approx([5.0, 5.5, 6.0])


def test_penalty_moves_slots_already_handed_out() -> None:
    time = FakeTime()
    limiter = bucket(time, rate=1.0, burst=1)
    done: dict[str, float] = {}

    async def one(name: str) -> None:
        await limiter.acquire()
        done[name] = time.now

    async def main() -> None:
        tasks = [asyncio.create_task(one(name)) for name in "abc"]
        await asyncio.sleep(0)  # a goes; b (slot 1 s) and c (slot 2 s) are waiting
        await limiter.penalize(10.0)
        await asyncio.gather(*tasks)

    asyncio.run(main())
    assert done == pytest.approx({"a": 0.0, "b": 11.0, "c": 12.0})


def test_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        LeakyBucket(rate=0)
    with pytest.raises(ValueError):
        LeakyBucket(burst=0)
