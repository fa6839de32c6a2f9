"""Faults a test injects into the portal's REST answers: errors and hangs for the next N requests.

Not thread-safe on its own: `PortalEmulator` calls it under its lock.
"""

from __future__ import annotations

from sandbox.bitrix24.rest import SYSTEM_ERRORS, RestError


class Faults:
    def __init__(self) -> None:
        self._failures = 0
        self._failure = RestError.system("INTERNAL_SERVER_ERROR")
        self._hangs = 0
        self._hang_seconds = 0.0

    def fail_next(self, n: int, status: int, error: str, description: str | None) -> None:
        known = SYSTEM_ERRORS.get(error)
        text = description or (known[1] if known else error)
        self._failures, self._failure = n, RestError(error, text, status)

    def hang_next(self, n: int, seconds: float) -> None:
        self._hangs, self._hang_seconds = n, seconds

    def take(self) -> tuple[float, RestError | None]:
        """The extra wait and the injected error for the request now arriving, counting down."""
        delay, failure = 0.0, None
        if self._hangs > 0:
            self._hangs -= 1
            delay = self._hang_seconds
        if self._failures > 0:
            self._failures -= 1
            failure = self._failure
        return delay, failure
