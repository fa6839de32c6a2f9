"""Request pacing for one portal, so we stay under Bitrix24's leaky bucket instead of hitting 503s.

Bitrix24 adds each request to a per-portal counter that drains `rate` per second and refuses
requests past `burst` (reference §5: 2/s and 50, or 5/s and 250 on Enterprise). `LeakyBucket`
models that bucket in-process with GCRA (virtual scheduling); a database-backed `RateLimiter`
shares one bucket across processes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

_DRIFT = 1e-9  # seconds: rounding left by summing intervals, not worth a sleep


class RateLimiter(Protocol):
    async def acquire(self) -> None:
        """Wait until one more request fits in the portal's bucket, and count it."""
        ...

    async def penalize(self, seconds: float) -> None:
        """Bitrix24 said the bucket is full: hold requests back at least `seconds`."""
        ...


class LeakyBucket:
    """GCRA: `_tat` is when the bucket would be empty if nothing more came.

    A request may go at once while the bucket holds fewer than `burst` requests, so N requests
    into an empty bucket finish at max(0, (N - burst) / rate). A slot is reserved before waiting
    (no await between reading and writing `_tat`), so concurrent callers queue in call order
    without a lock. A caller cancelled while waiting gives up its slot unused: we err slow.
    """

    def __init__(
        self,
        rate: float = 2.0,
        burst: int = 50,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"need rate > 0 and burst >= 1, not rate={rate} burst={burst}")
        self._interval = 1.0 / rate
        self._tolerance = (burst - 1) * self._interval  # how far ahead of `now` `_tat` may run
        self._clock = clock
        self._sleep = sleep
        self._tat = float("-inf")
        self._shift = 0.0  # total of all penalties, to move slots already handed out

    async def acquire(self) -> None:
        now = self._clock()
        tat = max(self._tat, now)
        slot = tat - self._tolerance
        self._tat = tat + self._interval
        shift = self._shift
        while (delay := slot + self._shift - shift - self._clock()) > _DRIFT:
            await self._sleep(delay)

    async def penalize(self, seconds: float) -> None:
        """Treat the bucket as full and push every slot, taken or not, `seconds` later."""
        self._tat = max(self._tat, self._clock() + self._tolerance) + seconds
        self._shift += seconds
