"""Bitrix24's message POST to our HANDLER: verify, store, answer.

Bitrix24 sends each message once and never retries, so the answer comes only after the commit,
and nothing slow (SMS.ru) happens before it: the sender picks the message up from the outbox.
"""

from __future__ import annotations

import logging

from sqlalchemy import bindparam, select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from models import Portal
from smsbridge import metrics
from smsbridge.logs import fields
from smsbridge.origin import classify_origin
from webhook.handler_request import HandlerRequest, RequestError
from webhook.intake import take_in
from webhook.php_form import FormError, parse_php_form
from webhook.problems import Problem, problem_response, read_form_body
from webhook.secret import matches

log = logging.getLogger("smsbridge.handler")

# What the checks and the insert need of the portal, by a statement built once: loading the whole
# row as an ORM object cost as much CPU as storing the message.
_PORTAL = select(col(Portal.id), col(Portal.member_id), col(Portal.application_token)).where(
    col(Portal.member_id) == bindparam("member_id")
)


async def bitrix24_handler(request: Request) -> Response:
    state = request.app.state
    member_id = request.path_params["member_id"]
    try:
        if not matches(request.path_params["secret"], state.webhook_secret):
            raise Problem(401, "wrong secret in the handler URL")
        try:
            message = HandlerRequest.from_form(parse_php_form(await read_form_body(request)))
        except (FormError, RequestError) as exc:
            raise Problem(400, str(exc)) from None
        async with state.sessions() as session:
            portal = (await session.execute(_PORTAL, {"member_id": member_id})).one_or_none()
            if portal is None:
                raise Problem(404, "no portal with this member_id is installed")
            _check_auth(message, portal.member_id, portal.application_token)
            intake = await take_in(session, portal.id, message)
    except Problem as problem:
        log.warning("handler refused %s", fields(status=problem.status, reason=problem.reason))
        return problem_response(problem.status, problem.reason)
    except SQLAlchemyError:
        log.exception("handler could not store the message %s", fields(portal=member_id))
        return problem_response(503, "storage unavailable; the message was not stored")
    if not intake.duplicate:
        kind, source = classify_origin(message.module_id)
        metrics.ACCEPTED.labels(kind, source).inc()
        if intake.reason:
            metrics.FAILED.labels(kind, "intake").inc()
        state.sender.wake()
    log.info(
        "message %s %s",
        "repeated" if intake.duplicate else "accepted",
        fields(
            portal=member_id,
            message_id=message.message_id,
            state=intake.state,
            reason=intake.reason,
        ),
    )
    body = {"ok": intake.reason is None, "message_id": message.message_id, "state": intake.state}
    if intake.reason:
        body["error"] = intake.reason
        return JSONResponse(body, status_code=422)
    return JSONResponse(body)


def _check_auth(message: HandlerRequest, member_id: str, application_token: str | None) -> None:
    """An `auth` block (present when the message has an author) must be this portal's."""
    if message.auth is None:
        return
    given_member = message.auth.get("member_id", "")
    if given_member and not matches(given_member, member_id):
        raise Problem(403, "auth[member_id] is not this portal's")
    if application_token and not matches(
        message.auth.get("application_token", ""), application_token
    ):
        raise Problem(403, "auth[application_token] does not match the installed application")
