"""What both HTTP clients need to know about httpx: how long to wait, and which failures are safe.

The timeouts are the project's one default, as httpx keeps its own in `_config.py`: seconds to
connect, to send a body and to get a pooled connection, and a read timeout long enough for either
API to finish a slow request (Bitrix24 stops a request itself after 60 s).
"""

from __future__ import annotations

import httpx

READ_TIMEOUT = 60.0


def timeouts(read: float = READ_TIMEOUT) -> httpx.Timeout:
    """The default timeouts, with `read` (how long an answer may take once sent) as given."""
    return httpx.Timeout(connect=5.0, read=read, write=10.0, pool=5.0)


DEFAULT_TIMEOUT = timeouts()

# Failures where the request certainly never reached the server, so it cannot have been processed.
NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.WriteError,
    httpx.WriteTimeout,
)
