"""Waiting for something that happens in another thread or process."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(
    condition: Callable[[], bool],
    timeout: float = 15.0,
    state: Callable[[], object] | None = None,
    interval: float = 0.02,
) -> None:
    """Until `condition()`; past `timeout`, fail, saying `state()` (what the test was seeing)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            seen = f"; seen: {state()}" if state is not None else ""
            raise AssertionError(f"condition not met within {timeout} s{seen}")
        time.sleep(interval)
