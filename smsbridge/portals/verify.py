"""Is an install event genuine? Ask a trusted authorization server, never the event's portal.

Anyone can POST an ONAPPINSTALL naming any portal and any endpoints (reference A2). We believe it
only when `app.info` on one of BITRIX24_OAUTH_URL's servers — the one the event's
`server_endpoint` names, which must be `<that server>/rest/` — takes the event's access token and
says it is ours (client_id) and the named portal's (member_id, domain). The portal's REST
endpoint is then the one the server gives, not the event's. Before that, no request goes to any
address the event chose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from models import Portal
from smsbridge.config import Settings

TIMEOUT = 10.0


class InstallRefused(Exception):
    """The install is not believed; `status` is 401 or 403, the text says why (no secrets)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class ServerUnreachable(InstallRefused):
    """The authorization server gave no answer (another server may know the token)."""

    def __init__(self) -> None:
        super().__init__(403, "the authorization server could not be asked about this token")


@dataclass(frozen=True, slots=True)
class VerifiedInstall:
    oauth_server: str  # the trusted server that vouched; tokens are refreshed there
    client_endpoint: str  # the portal's REST endpoint, as the server gives it
    domain: str


async def verify_install(
    http: httpx.AsyncClient, settings: Settings, auth: dict[str, str]
) -> VerifiedInstall:
    """`auth`: the event's `auth[...]` fields (member_id, access_token, server_endpoint, domain)."""
    server = settings.trusted_oauth_server(auth.get("server_endpoint", ""))
    if server is None:
        raise InstallRefused(403, "auth[server_endpoint] is not a trusted authorization server")
    info = await vouch(http, settings, server, auth["access_token"], auth["member_id"])
    install = info["install"]
    domain = str(install.get("domain") or "")
    if auth.get("domain") and domain and domain.lower() != auth["domain"].lower():
        raise InstallRefused(403, "the access token is not one of this portal (domain)")
    endpoint = str(install.get("client_endpoint") or "")
    parts = urlsplit(endpoint)
    usable = parts.scheme in ("http", "https") and parts.hostname and len(endpoint) <= 500
    if not usable or "@" in parts.netloc:
        raise InstallRefused(403, "the authorization server gave no usable portal endpoint")
    return VerifiedInstall(server, endpoint, domain or parts.netloc)


async def vouch(
    http: httpx.AsyncClient, settings: Settings, server: str, access_token: str, member_id: str
) -> dict[str, Any]:
    """`app.info` at the trusted `server` for `access_token`: its answer, once it names our
    client_id and `member_id` (an install event's token, or the token of a user opening the
    app's page); `InstallRefused` otherwise."""
    if not settings.bitrix24_client_id:
        raise InstallRefused(403, "BITRIX24_CLIENT_ID is not set, so no token can be verified")
    info = await _app_info(http, server, access_token)
    install = info.get("install")
    if str(info.get("client_id", "")) != settings.bitrix24_client_id:
        raise InstallRefused(403, "the access token is not one of this application")
    if not isinstance(install, dict) or str(install.get("member_id", "")) != member_id:
        raise InstallRefused(403, "the access token is not one of this portal (member_id)")
    return info


async def _app_info(http: httpx.AsyncClient, server: str, access_token: str) -> dict[str, Any]:
    """One call, no retries; the token goes in the body, never in a URL that could be logged."""
    try:
        response = await http.post(
            f"{server}/rest/app.info", json={"auth": access_token}, timeout=TIMEOUT
        )
        body = response.json()
    except (httpx.HTTPError, ValueError):
        raise ServerUnreachable from None
    result = body.get("result") if isinstance(body, dict) else None
    if response.status_code != 200 or not isinstance(result, dict):
        raise InstallRefused(401, "the authorization server does not accept the access token")
    return result


def authorization_server(portal: Portal, settings: Settings) -> str:
    """Where the portal's tokens are refreshed: the trusted server that vouched for its install
    (the first trusted one for portals stored before that was kept, or no longer trusted)."""
    trusted = settings.oauth_servers
    return portal.oauth_server if portal.oauth_server in trusted else trusted[0]
