"""What both HTTP clients need to know about httpx's failures."""

from __future__ import annotations

import httpx

# Failures where the request certainly never reached the server, so it cannot have been processed.
NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.WriteError,
    httpx.WriteTimeout,
)
