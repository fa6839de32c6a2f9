"""The one timeout default every HTTP client of ours starts from."""

from __future__ import annotations

import httpx

from clients.transport import DEFAULT_TIMEOUT, timeouts


def test_default_waits_a_minute_for_an_answer_and_seconds_for_the_rest() -> None:
    assert httpx.Timeout(connect=5.0, read=60.0, write=10.0, pool=5.0) == DEFAULT_TIMEOUT


def test_a_shorter_read_keeps_the_other_timeouts() -> None:
    assert httpx.Timeout(connect=5.0, read=10.0, write=10.0, pool=5.0) == timeouts(read=10.0)
