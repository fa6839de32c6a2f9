"""A portal's OAuth token pair, where it comes from, and the refresh request.

Access tokens live an hour, refresh tokens 180 days, and every refresh returns a new refresh token
that replaces the old one (reference §4). Who stores the pair and makes sure only one process
refreshes it at a time is the `TokenSource`'s business; the client only asks it for a newer pair
after a 401 `expired_token`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from clients.bitrix24.errors import Bitrix24Unavailable, OAuthError, scrub, transport_failure


@dataclass(frozen=True, slots=True)
class TokenPair:
    """Tokens of one portal. `domain` is the portal's host (from `client_endpoint`)."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime  # aware, UTC
    client_endpoint: str  # "https://portal.bitrix24.ru/rest/"
    member_id: str | None = None
    domain: str | None = None


class TokenSource(Protocol):
    async def current(self) -> TokenPair: ...

    async def refreshed(self, stale: TokenPair) -> TokenPair:
        """A pair newer than `stale`: refreshed now, or already refreshed by someone else."""
        ...


async def refresh_tokens(
    http: httpx.AsyncClient, oauth_url: str, client_id: str, client_secret: str, refresh_token: str
) -> TokenPair:
    """Trade a refresh token for a new pair at `{oauth_url}/oauth/token/`.

    Raises `OAuthError` when the server refuses (see `.revoked`), `Bitrix24Unavailable` when there
    is no usable answer; then `maybe_processed` says whether the refresh token may be used up.
    """
    # The documentation shows a GET with everything in the query string. We POST the same fields
    # as a form instead (the server takes both): httpx logs every request URL at INFO, and the
    # client secret and refresh token must not end up in a log.
    form = {
        "grant_type": "refresh_token",
        "client_id": client_id,
        "client_secret": client_secret,
        "refresh_token": refresh_token,
    }
    secrets = (client_secret, refresh_token)
    try:
        response = await http.post(f"{oauth_url.rstrip('/')}/oauth/token/", data=form)
    except httpx.RequestError as exc:
        raise transport_failure("Bitrix24 OAuth", exc, secrets) from None
    status = response.status_code
    try:
        data = json.loads(response.content)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise Bitrix24Unavailable(
            f"Bitrix24 OAuth: HTTP {status} without a JSON reply", status < 500, status
        )
    if "error" in data:
        description = scrub(str(data.get("error_description") or ""), secrets)
        raise OAuthError(str(data["error"]), description)
    try:
        return _pair(data)
    except (KeyError, TypeError, ValueError):
        raise Bitrix24Unavailable(
            f"Bitrix24 OAuth: HTTP {status} reply is not a token pair", True, status
        ) from None


def _pair(data: dict[str, Any]) -> TokenPair:
    access, refresh, endpoint = data["access_token"], data["refresh_token"], data["client_endpoint"]
    if not all(isinstance(value, str) and value for value in (access, refresh, endpoint)):
        raise ValueError("empty token or endpoint")
    # The reply's own `domain` is the OAuth server's in current replies and the portal's in older
    # ones; the portal's host is always in client_endpoint.
    return TokenPair(
        access_token=access,
        refresh_token=refresh,
        expires_at=_expires_at(data),
        client_endpoint=endpoint,
        member_id=_text(data.get("member_id")),
        domain=urlsplit(endpoint).netloc or None,
    )


def _expires_at(data: dict[str, Any]) -> datetime:
    """`expires` is absolute unix time; `expires_in` (seconds from now) is the fallback."""
    if data.get("expires") is not None:
        return datetime.fromtimestamp(_number(data["expires"]), UTC)
    return datetime.now(UTC) + timedelta(seconds=_number(data["expires_in"]))


def _number(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError("boolean where a number belongs")
    return int(value)


def _text(value: Any) -> str | None:
    """An optional field as text, None when absent or empty."""
    return None if value is None or value == "" else str(value)
