"""Bitrix24's authorization server (oauth.bitrix.info or oauth.bitrix24.tech), apart from portals.

One server serves many portals: it refreshes a portal's tokens at `/oauth/token/` and answers
`/rest/app.info` for any live access token with the app and the install it belongs to
(`client_id`, `install{member_id, domain, client_endpoint, …}`; reference A2). A forged install
event can name any portal, but not make this server vouch for a token it did not issue.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.bitrix24.php_form import parse_str
from sandbox.bitrix24.portal import PortalEmulator
from sandbox.bitrix24.rest import RestError


class AuthorizationServer:
    """The portals it serves; `requests` counts every request it answered, by path."""

    def __init__(self, base_url: str = "https://oauth.bitrix.info") -> None:
        self._lock = threading.Lock()
        self._portals: list[PortalEmulator] = []
        self._base_url = base_url.rstrip("/")
        self.requests: list[str] = []

    @property
    def base_url(self) -> str:
        return self._base_url

    @base_url.setter
    def base_url(self, url: str) -> None:
        with self._lock:
            self._base_url = url.rstrip("/")
            for portal in self._portals:
                portal.oauth_url = self._base_url

    def add(self, portal: PortalEmulator) -> PortalEmulator:
        with self._lock:
            portal.oauth_url = self._base_url
            self._portals.append(portal)
        return portal

    def owner(self, params: dict[str, str]) -> PortalEmulator | None:
        """The portal that issued the refresh token, else the first (whose refusal answers)."""
        refresh = params.get("refresh_token", "")
        with self._lock:
            portals = list(self._portals)
        owner = next((p for p in portals if p.holds_refresh_token(refresh)), None)
        return owner or (portals[0] if portals else None)

    def token(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """`/oauth/token/`: the portal that issued the refresh token answers it (its refusal:
        invalid_client, invalid_request or invalid_grant)."""
        owner = self.owner(params)
        if owner is None:
            error = RestError("invalid_grant", "The refresh token is invalid, expired or used")
            return error.status, error.body
        return owner.oauth_token(params)

    def app_info(self, token: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            portals = list(self._portals)
        for portal in portals:
            info = portal.app_info_at_server(token) if token else None
            if info is not None:
                return 200, {"result": info}
        error = RestError.system("invalid_token" if token else "NO_AUTH_FOUND")
        return error.status, error.body


def create_authorization_app(server: AuthorizationServer) -> Starlette:
    async def token(request: Request) -> Response:
        server.requests.append("/oauth/token/")
        params = await _params(request)
        owner = server.owner(params)
        delay = owner.take_oauth_fault() if owner is not None else 0.0
        if delay > 0:
            await asyncio.sleep(delay)  # the server hangs, as `PortalEmulator.hang_oauth_next` asks
        status, body = server.token(params)
        return _json(body, status)

    async def app_info(request: Request) -> Response:
        server.requests.append("/rest/app.info")
        params = await _params(request)
        status, body = server.app_info(params.get("auth", ""))
        return _json(body, status)

    return Starlette(
        routes=[
            Route("/oauth/token/", token, methods=["GET", "POST"]),
            Route("/rest/app.info", app_info, methods=["GET", "POST"]),
            Route("/rest/app.info.json", app_info, methods=["GET", "POST"]),
        ]
    )


async def _params(request: Request) -> dict[str, str]:
    params = parse_str(request.scope["query_string"])
    body = await request.body()
    if request.method == "POST" and body.strip():
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                data = json.loads(body)
            except ValueError:
                data = {}
            params.update(data if isinstance(data, dict) else {})
        else:
            params.update(parse_str(body))
    return {key: value for key, value in params.items() if isinstance(value, str)}


def _json(body: Any, status: int) -> Response:
    text = json.dumps(body, separators=(",", ":")).replace("/", "\\/")
    return Response(text, status_code=status, media_type="application/json; charset=utf-8")
