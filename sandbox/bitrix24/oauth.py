"""The portal's OAuth server: the tokens it has issued, and the refresh grant.

Not thread-safe on its own: `PortalEmulator` calls it under its lock. The portal's identity and
switches (member_id, client credentials, token lifetime, address) stay the portal's and are
passed in, so a test that changes one changes it everywhere at once.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sandbox.bitrix24.rest import RestError

SCOPE = "crm,messageservice"  # the scope `messages.Author` puts in a message's auth block
REFRESH_TTL = 180 * 86400.0  # refresh tokens live 180 days (reference §4)


@dataclass(slots=True)
class _Token:
    user_id: int
    expires: float  # unix time


class OAuthServer:
    def __init__(self) -> None:
        self._access: dict[str, _Token] = {}
        self._refresh: dict[str, _Token] = {}
        self.refresh_calls = 0

    def issue(
        self,
        user_id: int,
        *,
        member_id: str,
        base_url: str,
        server_url: str,
        ttl: float,
        with_refresh: bool,
    ) -> dict[str, Any]:
        """A fresh access token (and refresh token) for `user_id`, as the token response.

        `base_url` is the portal's, `server_url` its authorization server's (they differ)."""
        now = time.time()
        access = secrets.token_hex(35)  # 70 characters, like the real tokens
        self._access[access] = _Token(user_id, now + ttl)
        body: dict[str, Any] = {  # key order as observed (oauth_token_responses_observed.json)
            "access_token": access,
            "expires": int(now + ttl),
            "expires_in": int(ttl),
            "scope": SCOPE,
            "domain": urlsplit(server_url).netloc,  # the OAuth server's host
            "server_endpoint": f"{server_url}/rest/",
            "status": "L",
            "client_endpoint": f"{base_url}/rest/",
            "member_id": member_id,
            "user_id": user_id,
        }
        if with_refresh:
            refresh = secrets.token_hex(35)
            self._refresh[refresh] = _Token(user_id, now + REFRESH_TTL)
            body["refresh_token"] = refresh
        return body

    def redeem(self, params: Mapping[str, str], *, client_id: str, client_secret: str) -> int:
        """Check a /oauth/token/ request and use up its refresh token: the user to issue for.

        Only `grant_type=refresh_token` is served. The used refresh token dies; the access token
        issued with it stays valid until its own expiry (the real behaviour is not documented, and
        this is the kinder case for a client that still has a request in flight).
        """
        self.refresh_calls += 1
        if params.get("grant_type") != "refresh_token":
            raise RestError("invalid_request", "Unsupported or missing grant_type")
        if (params.get("client_id"), params.get("client_secret")) != (client_id, client_secret):
            raise RestError("invalid_client", "Invalid client_id or client_secret")
        token = params.get("refresh_token", "")
        if not token:
            raise RestError("invalid_request", "refresh_token is missing")
        entry = self._refresh.pop(token, None)
        if entry is None or entry.expires <= time.time():
            raise RestError("invalid_grant", "The refresh token is invalid, expired or used")
        return entry.user_id

    def holds_refresh(self, token: str) -> bool:
        return token in self._refresh

    def holds_access(self, token: str) -> bool:
        entry = self._access.get(token)
        return entry is not None and entry.expires > time.time()

    def user_of(self, token: str | None) -> int:
        """The user a REST request acts for, or the 401 the portal answers."""
        if not token:
            raise RestError.system("NO_AUTH_FOUND")
        entry = self._access.get(token)
        if entry is None:
            raise RestError.system("invalid_token")
        if entry.expires <= time.time():
            raise RestError.system("expired_token")
        return entry.user_id

    def expire_access_tokens(self) -> None:
        now = time.time()
        for token in self._access.values():
            token.expires = min(token.expires, now)

    def revoke(self) -> None:
        self._access.clear()
        self._refresh.clear()
