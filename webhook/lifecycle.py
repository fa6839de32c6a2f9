"""The app events we bind at install: ONAPPUNINSTALL and ONAPPUPDATE.

Neither can be checked with a token of its own (an uninstall carries none: the app's rights are
already revoked), so each must carry the `application_token` stored at install, compared in
constant time (reference A2, A4). A forged or replayed event (a later install has a new token)
is refused 403 and changes nothing.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from clients.bitrix24.errors import Bitrix24Error, OAuthError
from clients.smsru.errors import SmsRuError
from models import Portal
from smsbridge.logs import fields, register_secret
from smsbridge.portals.lifecycle import uninstall
from smsbridge.portals.registration import register
from smsbridge.portals.tokens import PortalNotAuthorized
from smsbridge.secret import compare_secret
from webhook.forms import Form, FormError, parse_php_form, read_form_body
from webhook.problems import Problem, problem_response

log = logging.getLogger("smsbridge.lifecycle")

MAX_VALUE = 255


async def bitrix24_uninstall(request: Request) -> Response:
    state = request.app.state
    try:
        form, member_id, token = await _event(request, "ONAPPUNINSTALL")
        data = form.get("data")
        clean = isinstance(data, dict) and data.get("CLEAN") == "1"
        async with state.sessions() as session:
            portal = await _portal(session, member_id, token, lock=True)
            failed = await uninstall(session, portal, clean=clean)
    except Problem as problem:
        log.warning("uninstall refused %s", fields(status=problem.status, reason=problem.reason))
        return problem_response(problem.status, problem.reason)
    except SQLAlchemyError:
        log.exception("uninstall could not be stored")
        return problem_response(503, "storage unavailable; the uninstall was not applied")
    log.info("portal uninstalled %s", fields(portal=member_id, clean=clean, queued_failed=failed))
    return JSONResponse({"ok": True, "member_id": member_id, "clean": clean, "failed": failed})


async def bitrix24_update(request: Request) -> Response:
    """An app update deleted our provider: register it (and the events) again, by ourselves."""
    state = request.app.state
    try:
        _, member_id, token = await _event(request, "ONAPPUPDATE")
        async with state.sessions() as session:
            portal = await _portal(session, member_id, token, lock=False)
    except Problem as problem:
        log.warning("update refused %s", fields(status=problem.status, reason=problem.reason))
        return problem_response(problem.status, problem.reason)
    except SQLAlchemyError:
        log.exception("update could not be read")
        return problem_response(503, "storage unavailable; the update was not applied")
    try:
        done = await register(
            state.sessions, state.settings, state.http, portal, state.webhook_secret
        )
    except (Bitrix24Error, OAuthError, SmsRuError, PortalNotAuthorized) as exc:
        log.error("re-registration failed %s", fields(portal=member_id, reason=str(exc)))
        return problem_response(502, f"registration failed ({exc}); run `smsbridge register`")
    log.info("portal updated %s", fields(portal=member_id, provider=done.provider))
    return JSONResponse({"ok": True, "member_id": member_id, "provider": done.provider})


async def _event(request: Request, event: str) -> tuple[Form, str, str]:
    try:
        form = parse_php_form(await read_form_body(request))
    except FormError as exc:
        raise Problem(400, str(exc)) from None
    if str(form.get("event", "")).upper() != event:
        raise Problem(400, f"event must be {event}")
    auth = form.get("auth")
    if not isinstance(auth, dict):
        raise Problem(400, "auth[...] fields are missing")
    member_id, token = auth.get("member_id"), auth.get("application_token")
    if not isinstance(member_id, str) or not member_id or len(member_id) > MAX_VALUE:
        raise Problem(400, "auth[member_id] is missing or malformed")
    if not isinstance(token, str) or not token or len(token) > MAX_VALUE:
        raise Problem(400, "auth[application_token] is missing or malformed")
    register_secret(token)
    for key in ("access_token", "refresh_token"):
        value = auth.get(key)
        if isinstance(value, str) and value:
            register_secret(value)
    return form, member_id, token


async def _portal(session: AsyncSession, member_id: str, token: str, *, lock: bool) -> Portal:
    """The installed portal whose application_token this is; 403 for any other (unknown portal,
    uninstalled portal, wrong or old token), the same answer so nothing is learnt from it."""
    statement = select(Portal).where(col(Portal.member_id) == member_id)
    portal = (
        await session.execute(statement.with_for_update() if lock else statement)
    ).scalar_one_or_none()
    expected = portal.application_token if portal is not None else None
    if portal is None or not compare_secret(token, expected or "\0" * len(token)) or not expected:
        raise Problem(403, "auth[application_token] is not that of the installed application")
    return portal
