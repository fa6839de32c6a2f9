"""GCRA's steps, exactly, on a fake clock: the times at which requests may go."""

from __future__ import annotations

import pytest

from clients.bitrix24.limiter import Bucket


def one_after_another(bucket: Bucket, n: int, start: float = 0.0) -> list[float]:
    """Each request arrives when the one before it went; when each goes."""
    tat, now, went = None, start, []
    for _ in range(n):
        tat, wait = bucket.take(tat, now)
        now += wait
        went.append(now)
    return went


@pytest.mark.parametrize(("rate", "burst", "n"), [(2.0, 50, 60), (5.0, 250, 260), (1.0, 1, 5)])
def test_n_requests_from_empty_go_at_n_minus_burst_over_rate(
    rate: float, burst: int, n: int
) -> None:
    went = one_after_another(Bucket(rate, burst), n)
    assert went == pytest.approx([max(0.0, (k - burst) / rate) for k in range(1, n + 1)])
    assert went[burst - 1] == 0.0  # the burst goes at once


def test_requests_arriving_together_go_in_arrival_order() -> None:
    bucket = Bucket(2.0, 3)
    tat, waits = None, []
    for _ in range(8):
        tat, wait = bucket.take(tat, 0.0)
        waits.append(wait)
    assert waits == pytest.approx([0, 0, 0, 0.5, 1.0, 1.5, 2.0, 2.5])
    assert tat == pytest.approx(4.0)  # empty again once all eight have drained


def test_bucket_drains_while_idle() -> None:
    bucket = Bucket(2.0, 4)
    tat = None
    for _ in range(4):
        tat, wait = bucket.take(tat, 0.0)
        assert wait == 0
    waits = []
    for _ in range(3):  # one second later two requests have drained
        tat, wait = bucket.take(tat, 1.0)
        waits.append(wait)
    assert waits == pytest.approx([0, 0, 0.5])
    waits = []
    for _ in range(5):  # empty again, but no more than `burst` at once
        tat, wait = bucket.take(tat, 100.0)
        waits.append(wait)
    assert waits == pytest.approx([0, 0, 0, 0, 0.5])


def test_an_empty_bucket_is_none_or_any_time_past() -> None:
    bucket = Bucket(2.0, 50)
    assert bucket.take(None, 10.0) == bucket.take(3.0, 10.0) == (10.5, 0.0)


def test_full_holds_the_next_request_one_interval_past_the_hold() -> None:
    bucket = Bucket(2.0, 50)
    tat, _ = bucket.take(None, 0.0)
    tat = bucket.full(tat, 0.0, 5.0)
    waits = []
    for _ in range(3):
        tat, wait = bucket.take(tat, 0.0)
        waits.append(wait)
    assert waits == pytest.approx([5.5, 6.0, 6.5])


def test_full_never_brings_slots_forward() -> None:
    bucket = Bucket(1.0, 1)
    assert bucket.full(100.0, 0.0, 5.0) == 100.0
    assert bucket.full(None, 0.0, 5.0) == 6.0
    assert bucket.full(2.0, 10.0, 0.0) == 11.0  # a stale TAT counts as empty, then filled


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 50), (-1.0, 50), (2.0, 0)])
def test_rejects_nonsense(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        Bucket(rate, burst)
