"""Bitrix24's install callback (`event=ONAPPINSTALL`): store the portal, then register ourselves.

The tokens are committed before anything uses them (the refresh token is single-use, so losing
the pair would lock us out). A re-install, as after an app update that deleted our provider,
replaces the tokens and registers the provider again.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from clients.bitrix24.errors import Bitrix24Error, OAuthError
from clients.smsru.errors import SmsRuError
from models import Portal
from models.types import utcnow
from smsbridge.logs import fields, register_secret
from smsbridge.registration import register
from webhook.php_form import FormError, parse_php_form
from webhook.problems import Problem, problem_response, read_form_body
from webhook.secret import matches

log = logging.getLogger("smsbridge.install")

REQUIRED = ("member_id", "access_token", "refresh_token", "application_token", "client_endpoint")
# What the portals table holds.
LIMITS = {
    "member_id": 64,
    "access_token": 255,
    "refresh_token": 255,
    "application_token": 255,
    "client_endpoint": 500,
    "domain": 255,
}
DEFAULT_TOKEN_LIFETIME = 3600


async def bitrix24_install(request: Request) -> Response:
    state = request.app.state
    try:
        try:
            form = parse_php_form(await read_form_body(request))
        except FormError as exc:
            raise Problem(400, str(exc)) from None
        auth = _auth(form)
        async with state.sessions() as session:
            portal = (
                await session.execute(select(Portal).where(Portal.member_id == auth["member_id"]))
            ).scalar_one_or_none()
            known = portal is not None and bool(portal.application_token)
            if not known or not matches(auth["application_token"], portal.application_token or ""):
                # A new portal, or a new application_token: believe it only if the portal (the
                # one we know, else the one named) accepts the access token that came with it.
                endpoint = portal.client_endpoint if known and portal else auth["client_endpoint"]
                await _confirm(state.http, endpoint, auth["access_token"])
            portal = portal or Portal(member_id=auth["member_id"])
            _store(portal, auth)
            session.add(portal)
            await session.commit()
            await session.refresh(portal)
    except Problem as problem:
        log.warning("install refused %s", fields(status=problem.status, reason=problem.reason))
        return problem_response(problem.status, problem.reason)
    except SQLAlchemyError:
        log.exception("install could not be stored")
        return problem_response(503, "storage unavailable; the install was not stored")
    try:
        done = await register(
            state.sessions, state.settings, state.http, portal, state.webhook_secret
        )
    except (Bitrix24Error, OAuthError, SmsRuError) as exc:
        log.error(
            "install stored, registration failed %s",
            fields(portal=portal.member_id, reason=str(exc)),
        )
        return problem_response(
            502, f"portal stored, but registration failed ({exc}); run `smsbridge register`"
        )
    log.info(
        "portal installed %s",
        fields(portal=portal.member_id, provider=done.provider, smsru_callback=done.smsru_callback),
    )
    return JSONResponse(
        {
            "ok": True,
            "member_id": portal.member_id,
            "provider": done.provider,
            "smsru_callback": done.smsru_callback,
            "sent_flag_created_on": done.sent_flag_created_on,
        }
    )


def _auth(form: dict[str, object]) -> dict[str, str]:
    if str(form.get("event", "")).upper() != "ONAPPINSTALL":
        raise Problem(400, "event must be ONAPPINSTALL")
    auth = form.get("auth")
    if not isinstance(auth, dict) or not all(isinstance(v, str) for v in auth.values()):
        raise Problem(400, "auth[...] fields are missing")
    missing = [key for key in REQUIRED if not auth.get(key)]
    if missing:
        raise Problem(400, "missing " + ", ".join(f"auth[{key}]" for key in missing))
    if not auth["client_endpoint"].startswith(("https://", "http://")):
        raise Problem(400, "auth[client_endpoint] is not a URL")
    for key, limit in LIMITS.items():
        if len(auth.get(key, "")) > limit:
            raise Problem(400, f"auth[{key}] is longer than {limit} characters")
    for key in ("access_token", "refresh_token", "application_token"):
        register_secret(auth[key])
    return auth


async def _confirm(http: httpx.AsyncClient, endpoint: str, access_token: str) -> None:
    """One `app.info` call, no retries: the install is genuine if the portal takes the token."""
    try:
        response = await http.post(f"{endpoint}app.info", json={"auth": access_token}, timeout=10.0)
        accepted = response.status_code == 200 and "result" in response.json()
    except (httpx.HTTPError, ValueError):
        accepted = False
    if not accepted:
        raise Problem(403, "the portal did not accept the access token of this install")


def _store(portal: Portal, auth: dict[str, str]) -> None:
    now = utcnow()
    given = auth.get("expires_in", "")
    readable = given.isascii() and given.isdigit() and len(given) <= 6
    expires_in = int(given) if readable else DEFAULT_TOKEN_LIFETIME
    portal.access_token = auth["access_token"]
    portal.refresh_token = auth["refresh_token"]
    portal.access_expires_at = now + timedelta(seconds=expires_in)
    portal.application_token = auth["application_token"]
    portal.client_endpoint = auth["client_endpoint"]
    portal.domain = auth.get("domain", portal.domain)
    portal.auth_error = None
    portal.updated_at = now
