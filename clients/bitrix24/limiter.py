"""Request pacing for one portal, so we stay under Bitrix24's leaky bucket instead of hitting 503s.

Bitrix24 adds each request to a per-portal counter that drains `rate` per second and refuses
requests past `burst` (reference §5: 2/s and 50, or 5/s and 250 on Enterprise). `Bucket` is that
bucket as GCRA (virtual scheduling): pure steps on its theoretical arrival time (TAT), the moment
it would be empty if nothing more came. Whoever keeps the TAT (a portal's database row, shared by
every process) paces by these steps, so the timing tested here on a fake clock is production's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

_DRIFT = 1e-9  # seconds: rounding left by summing intervals, not worth a sleep


class RateLimiter(Protocol):
    async def acquire(self) -> None:
        """Wait until one more request fits in the portal's bucket, and count it."""
        ...

    async def penalize(self, seconds: float) -> None:
        """Bitrix24 said the bucket is full: hold requests back at least `seconds`."""
        ...


@dataclass(frozen=True, slots=True)
class Bucket:
    """`rate` requests drain per second; a request may go at once while fewer than `burst` are in.

    So N requests into an empty bucket go at max(0, (N - burst) / rate). Times are seconds on any
    clock that only moves forward; a TAT of None is an empty bucket.
    """

    rate: float
    burst: int

    def __post_init__(self) -> None:
        if not self.rate > 0 or self.burst < 1:
            raise ValueError(
                f"need rate > 0 and burst >= 1, not rate={self.rate} burst={self.burst}"
            )

    @property
    def interval(self) -> float:
        return 1.0 / self.rate

    def take(self, tat: float | None, now: float) -> tuple[float, float]:
        """One request arriving at `now`: the TAT after it, and how long it must wait to go.

        The slot is counted at once, so the next caller queues behind it whether or not this one
        waits its turn (a caller that gives up leaves its slot unused: we err slow).
        """
        tat = now if tat is None else max(tat, now)
        tolerance = (self.burst - 1) * self.interval  # how far ahead of `now` the TAT may run
        wait = tat - tolerance - now
        return tat + self.interval, wait if wait > _DRIFT else 0.0

    def full(self, tat: float | None, now: float, hold: float) -> float:
        """The TAT after Bitrix24 refused for a full bucket: as full as it can be `hold` seconds
        from now, so the next request goes one interval after that; never earlier than `tat`."""
        tat = now if tat is None else max(tat, now)
        return max(tat, now + hold + self.burst * self.interval)
