"""Bitrix24's message POST to our HANDLER: verify, store, answer.

Bitrix24 sends each message once and never retries, so the answer comes only after the commit,
and nothing slow (SMS.ru) happens before it: the sender picks the message up from the outbox.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select
from starlette.datastructures import State
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from models import Portal
from smsbridge import metrics
from smsbridge.logs import fields
from smsbridge.secret import compare_secret, handler_secret
from webhook.forms import FormError, parse_php_form, read_form_body
from webhook.handler_request import HandlerRequest, RequestError
from webhook.intake import NotStored, prepare
from webhook.problems import Problem, problem_response

log = logging.getLogger("smsbridge.handler")


async def bitrix24_handler(request: Request) -> Response:
    state = request.app.state
    member_id = request.path_params["member_id"]
    try:
        if not await _secret_accepted(state, member_id, request.path_params["secret"]):
            raise Problem(401, "wrong secret in the handler URL")
        try:
            message = HandlerRequest.from_form(parse_php_form(await read_form_body(request)))
        except (FormError, RequestError) as exc:
            raise Problem(400, str(exc)) from None
        arrival = prepare(member_id, message)
        intake = await state.intake.take_in(arrival)
    except Problem as problem:
        log.warning("handler refused %s", fields(status=problem.status, reason=problem.reason))
        return problem_response(problem.status, problem.reason)
    except NotStored:
        log.exception("handler could not store the message %s", fields(portal=member_id))
        return problem_response(503, "storage unavailable; the message was not stored")
    if not intake.duplicate:
        kind = arrival.values["kind"]
        metrics.ACCEPTED.labels(kind, arrival.values["source"]).inc()
        if intake.reason:
            metrics.FAILED.labels(kind, "intake").inc()
        state.wake_sender()
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


async def _secret_accepted(state: State, member_id: str, secret: str) -> bool:
    """The portal's own secret; or, for a portal whose provider still has the URL of before
    per-portal secrets, the master secret, until the provider is registered again."""
    if compare_secret(secret, handler_secret(state.webhook_secret, member_id)):
        return True
    if not compare_secret(secret, state.webhook_secret):
        return False
    try:
        async with state.sessions() as session:
            legacy = await session.execute(
                select(Portal.legacy_handler).where(col(Portal.member_id) == member_id)
            )
            return bool(legacy.scalar_one_or_none())
    except SQLAlchemyError as exc:
        raise NotStored("the portal could not be read") from exc
