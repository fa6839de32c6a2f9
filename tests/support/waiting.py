"""Waiting for something that happens in another thread or process."""

from __future__ import annotations

import time
from collections.abc import Callable

FIRST_LOOK = 0.02  # seconds before the second look; each wait after it is half as long again,
SLOWEST_LOOK = 0.25  # up to this: a condition that reads 500 rows, asked every 20 ms for a
# minute, kept a core busy that the processes under test needed


def wait_for(
    condition: Callable[[], bool],
    timeout: float = 15.0,
    state: Callable[[], object] | None = None,
    interval: float | None = None,
) -> None:
    """Until `condition()`; past `timeout`, fail, saying `state()` (what the test was seeing).

    Asked at once, then more and more rarely (see above); a fixed `interval` for a test that
    measures when the condition came true."""
    deadline = time.monotonic() + timeout
    pause = interval or FIRST_LOOK
    while not condition():
        if time.monotonic() > deadline:
            seen = f"; seen: {state()}" if state is not None else ""
            raise AssertionError(f"condition not met within {timeout} s{seen}")
        time.sleep(pause)
        if interval is None:
            pause = min(pause * 1.5, SLOWEST_LOOK)
