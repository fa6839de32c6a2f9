"""The portal's leaky bucket on a fake clock: burst, refusal, draining, switches changed mid-run."""

from __future__ import annotations

from sandbox.bitrix24.ratelimit import LeakyBucket


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_is_admitted_then_the_overflow_refused_and_counted() -> None:
    bucket = LeakyBucket(Clock())
    assert [bucket.admit(rate=2.0, burst=3) for _ in range(5)] == [True, True, True, False, False]
    assert bucket.refused == 2


def test_it_drains_at_the_rate_in_force() -> None:
    clock = Clock()
    bucket = LeakyBucket(clock)
    assert all(bucket.admit(rate=2.0, burst=3) for _ in range(3))
    clock.now += 0.4  # 0.8 drained: still full
    assert not bucket.admit(rate=2.0, burst=3)
    clock.now += 0.1  # 1.0 drained since the burst: room for one
    assert bucket.admit(rate=2.0, burst=3)
    assert not bucket.admit(rate=2.0, burst=3)
    clock.now += 10
    assert [bucket.admit(rate=2.0, burst=3) for _ in range(4)] == [True, True, True, False]
    clock.now += 1
    assert not bucket.admit(rate=0.5, burst=3)  # a slower rate drains only half a request
    assert bucket.admit(rate=0.5, burst=4)  # a larger burst makes room at once


def test_a_refused_request_does_not_fill_the_bucket() -> None:
    clock = Clock()
    bucket = LeakyBucket(clock)
    assert bucket.admit(rate=1.0, burst=1)
    for _ in range(10):
        assert not bucket.admit(rate=1.0, burst=1)
    clock.now += 1.0
    assert bucket.admit(rate=1.0, burst=1)
