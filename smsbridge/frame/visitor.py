"""Who opened the app's page: believed only after the portal's authorization server vouches.

Bitrix24 POSTs the user's access token (AUTH_ID) and the portal's member_id into the frame; anyone
can POST the same fields. We believe them only when `app.info` on the portal's own trusted
authorization server (the one that vouched for its install) names our app, that portal and a user
(`smsbridge.portals.verify.vouch`); whether that user may change settings is the portal's own
answer to `user.admin` with the same token. Nothing of the portal is read for the answer before
that, and refusals say nothing about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from models import Portal
from smsbridge.config import Settings
from smsbridge.logs import register_secret
from smsbridge.portals.verify import (
    TIMEOUT,
    InstallRefused,
    ServerUnreachable,
    VerifiedInstall,
    authorization_server,
    verify_install,
    vouch,
)

MAX_FIELD = 255  # the longest AUTH_ID or member_id the portals table could hold


class FrameRefused(Exception):
    """The frame is not believed (401/403) or Bitrix24 could not be asked (502); no secrets."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Visitor:
    user_id: int
    admin: bool


def frame_auth(form: dict[str, str]) -> tuple[str, str]:
    """(member_id, AUTH_ID) of a frame POST; 400-worthy `FrameRefused` when they are missing."""
    member_id, auth_id = form.get("member_id", ""), form.get("AUTH_ID", "")
    if not member_id or not auth_id:
        raise FrameRefused(400, "open the app from Bitrix24: member_id and AUTH_ID are missing")
    if len(member_id) > MAX_FIELD or len(auth_id) > MAX_FIELD:
        raise FrameRefused(400, "member_id or AUTH_ID is too long")
    register_secret(auth_id)  # never in a log line from now on
    return member_id, auth_id


async def verify_visitor(
    http: httpx.AsyncClient, settings: Settings, portal: Portal | None, auth_id: str
) -> Visitor:
    """The user `auth_id` belongs to on the installed `portal` (None: not stored), and whether
    they are its admin; `FrameRefused` otherwise."""
    if portal is None or portal.uninstalled_at is not None or not portal.client_endpoint:
        raise FrameRefused(403, "the app is not installed on this portal")
    server = authorization_server(portal, settings)
    try:
        info = await vouch(http, settings, server, auth_id, portal.member_id)
    except InstallRefused as exc:
        raise FrameRefused(exc.status, exc.reason) from None
    user = info.get("user_id")
    if not isinstance(user, int) and not (isinstance(user, str) and user.isdigit()):
        raise FrameRefused(403, "the authorization server named no user for the access token")
    return Visitor(int(user), await is_admin(http, portal.client_endpoint, auth_id))


async def verify_installer(
    http: httpx.AsyncClient, settings: Settings, member_id: str, auth_id: str, domain: str
) -> VerifiedInstall:
    """The UI install page: the frame may carry no SERVER_ENDPOINT, so each trusted server is
    asked in turn (a token only its own server knows); the installer must be an admin."""
    refusal = FrameRefused(401, "no trusted authorization server accepts the access token")
    for server in settings.oauth_servers:
        auth = {
            "server_endpoint": f"{server}/rest/",
            "access_token": auth_id,
            "member_id": member_id,
            "domain": domain,
        }
        try:
            verified = await verify_install(http, settings, auth)
        except ServerUnreachable as exc:
            refusal = FrameRefused(exc.status, exc.reason)
            continue
        except InstallRefused as exc:
            if exc.status != 401:  # a server knew the token, and it is not ours or theirs
                raise FrameRefused(exc.status, exc.reason) from None
            continue
        if not await is_admin(http, verified.client_endpoint, auth_id):
            raise FrameRefused(403, "only a Bitrix24 administrator can install the app")
        return verified
    raise refusal


async def is_admin(http: httpx.AsyncClient, client_endpoint: str, auth_id: str) -> bool:
    """The portal's `user.admin` for the token's user (scope `basic`, reference A2)."""
    result = await _rest(http, client_endpoint, "user.admin", auth_id)
    if not isinstance(result, bool):
        raise FrameRefused(502, "Bitrix24 did not say whether you are an administrator")
    return result


async def _rest(http: httpx.AsyncClient, client_endpoint: str, method: str, auth_id: str) -> Any:
    try:
        response = await http.post(
            f"{client_endpoint}{method}", json={"auth": auth_id}, timeout=TIMEOUT
        )
        body = response.json()
    except (httpx.HTTPError, ValueError):
        raise FrameRefused(502, "Bitrix24 could not be asked who you are; try again") from None
    if response.status_code == 401:
        raise FrameRefused(401, "Bitrix24 does not accept the access token")
    return body.get("result") if isinstance(body, dict) else None
