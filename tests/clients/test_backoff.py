"""The one backoff rule: doubling from `base`, capped, optionally spread by jitter."""

from __future__ import annotations

import random

import pytest

from clients.backoff import backoff


def test_doubles_from_base_up_to_the_cap() -> None:
    assert [backoff(n, 2.0, 300.0) for n in range(1, 11)] == [
        2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 300.0, 300.0
    ]  # fmt: skip


def test_a_cap_below_base_wins_from_the_first_attempt() -> None:
    assert backoff(1, 5.0, 3.0) == 3.0


def test_any_number_of_attempts_gives_the_cap() -> None:
    # A message polled for three days is asked about ~150 times; 2**1100 is not even a float.
    assert backoff(150, 30.0, 1800.0) == 1800.0
    assert backoff(1100, 30.0, 1800.0) == 1800.0
    assert backoff(10_000, 1e-300, 7.0) == 7.0


def test_jitter_spreads_within_its_fraction_and_does_vary() -> None:
    random.seed(8)
    delays = [backoff(3, 2.0, 300.0, jitter=0.2) for _ in range(500)]
    assert all(6.4 <= delay <= 9.6 for delay in delays)
    assert min(delays) < 6.6 and max(delays) > 9.4  # both ends are reached, not just the middle
    assert all(6.4 <= backoff(20, 2.0, 8.0, jitter=0.2) <= 9.6 for _ in range(100))  # the cap too


def test_no_jitter_is_exact() -> None:
    assert {backoff(4, 1.5, 100.0) for _ in range(20)} == {12.0}


@pytest.mark.parametrize(("attempt", "jitter"), [(0, 0.0), (-1, 0.0), (1, -0.1), (1, 1.0)])
def test_rejects_nonsense(attempt: int, jitter: float) -> None:
    with pytest.raises(ValueError):
        backoff(attempt, 1.0, 10.0, jitter)
