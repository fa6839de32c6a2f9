"""Bitrix24's install callback (`event=ONAPPINSTALL`): verify it, store the portal, register.

Nothing of the event is stored, and no request goes where the event says, until a trusted
authorization server vouches for its access token (`smsbridge.portals.verify`). The tokens are
committed before anything uses them (the refresh token is single-use, so losing the pair would
lock us out). A re-install replaces the tokens and registers the provider and events again; after
an uninstall it is a fresh start.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from clients.bitrix24.errors import Bitrix24Error, OAuthError
from clients.smsru.errors import SmsRuError
from models import Portal
from models.types import utcnow
from smsbridge.logs import fields, register_secret
from smsbridge.portals.lookup import find_or_none
from smsbridge.portals.registration import register
from smsbridge.portals.tokens import PortalNotAuthorized
from smsbridge.portals.verify import InstallRefused, VerifiedInstall, verify_install
from smsbridge.rules.said import portal_language
from webhook.forms import FormError, parse_php_form, read_form_body
from webhook.problems import Problem, problem_response

log = logging.getLogger("smsbridge.install")

REQUIRED = ("member_id", "access_token", "refresh_token", "application_token", "server_endpoint")
# What the portals table holds.
LIMITS = {
    "member_id": 64,
    "access_token": 255,
    "refresh_token": 255,
    "application_token": 255,
    "client_endpoint": 500,
    "server_endpoint": 260,
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
        try:
            verified = await verify_install(state.http, state.settings, auth)
        except InstallRefused as exc:
            raise Problem(exc.status, exc.reason) from None
        portal = await store_portal(state.sessions, auth, verified, _language_id(form))
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
    except (Bitrix24Error, OAuthError, SmsRuError, PortalNotAuthorized) as exc:
        log.error(
            "install stored, registration failed %s",
            fields(portal=portal.member_id, reason=str(exc)),
        )
        return problem_response(
            502, f"portal stored, but registration failed ({exc}); run `smsbridge register`"
        )
    log.info(
        "portal installed %s",
        fields(
            portal=portal.member_id,
            oauth_server=portal.oauth_server,
            provider=done.provider,
            events=",".join(done.events),
            smsru_callback=done.smsru_callback,
        ),
    )
    return JSONResponse(
        {
            "ok": True,
            "member_id": portal.member_id,
            "provider": done.provider,
            "events": done.events,
            "smsru_callback": done.smsru_callback,
            "sent_flag_created_on": done.sent_flag_created_on,
        }
    )


def _language_id(form: dict[str, object]) -> str | None:
    data = form.get("data")
    language_id = data.get("LANGUAGE_ID") if isinstance(data, dict) else None
    return language_id if isinstance(language_id, str) else None


def _auth(form: dict[str, object]) -> dict[str, str]:
    if str(form.get("event", "")).upper() != "ONAPPINSTALL":
        raise Problem(400, "event must be ONAPPINSTALL")
    auth = form.get("auth")
    if not isinstance(auth, dict) or not all(isinstance(v, str) for v in auth.values()):
        raise Problem(400, "auth[...] fields are missing")
    missing = [key for key in REQUIRED if not auth.get(key)]
    if missing:
        raise Problem(400, "missing " + ", ".join(f"auth[{key}]" for key in missing))
    for key, limit in LIMITS.items():
        if len(auth.get(key, "")) > limit:
            raise Problem(400, f"auth[{key}] is longer than {limit} characters")
    for key in ("access_token", "refresh_token", "application_token"):
        register_secret(auth[key])
    return auth


async def store_portal(
    sessions: async_sessionmaker[AsyncSession],
    auth: dict[str, str],
    verified: VerifiedInstall,
    language_id: str | None = None,
) -> Portal:
    """Store (or renew) the vouched-for portal and its tokens, committed before any use.
    `auth`: member_id, access_token, refresh_token, expires_in and, when known,
    application_token (the UI installer's frame may not carry it: the event brings it later).
    `language_id`: the install event's LANGUAGE_ID, when it has one."""
    async with sessions() as session:
        portal = await find_or_none(session, auth["member_id"])
        portal = portal or Portal(member_id=auth["member_id"])
        _store(portal, auth, verified)
        if language_id:
            portal.language = portal_language(language_id)
        session.add(portal)
        await session.commit()
        await session.refresh(portal)
        return portal


def _store(portal: Portal, auth: dict[str, str], verified: VerifiedInstall) -> None:
    now = utcnow()
    given = auth.get("expires_in", "")
    readable = given.isascii() and given.isdigit() and len(given) <= 6
    expires_in = int(given) if readable else DEFAULT_TOKEN_LIFETIME
    portal.access_token = auth["access_token"]
    portal.refresh_token = auth["refresh_token"]
    portal.access_expires_at = now + timedelta(seconds=expires_in)
    portal.application_token = auth.get("application_token") or portal.application_token
    portal.client_endpoint = verified.client_endpoint
    portal.oauth_server = verified.oauth_server
    portal.domain = verified.domain[:255]
    portal.uninstalled_at = None
    portal.auth_error = None
    portal.updated_at = now
