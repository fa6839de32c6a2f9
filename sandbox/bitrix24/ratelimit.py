"""The portal's REST rate limit: a leaky bucket that refuses what would overflow it.

Rate and burst are the portal's switches, read at every request, so a test can tighten them
mid-run. Not thread-safe on its own: `PortalEmulator` calls it under its lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class LeakyBucket:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._level = 0.0
        self._drained_at = clock()
        self.refused = 0

    def admit(self, rate: float, burst: int) -> bool:
        """Count one request, or refuse it (and count the refusal) if it would overflow."""
        now = self._clock()
        self._level = max(0.0, self._level - (now - self._drained_at) * rate)
        self._drained_at = now
        if self._level + 1 > burst:
            self.refused += 1
            return False
        self._level += 1
        return True
