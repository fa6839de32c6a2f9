"""Bitrix24's message POST to our HANDLER: verify, store, answer.

Bitrix24 sends each message once and never retries, so the answer comes only after the commit,
and nothing slow (SMS.ru) happens before it: the sender picks the message up from the outbox.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from smsbridge import metrics
from smsbridge.logs import fields
from webhook.handler_request import HandlerRequest, RequestError
from webhook.intake import prepare
from webhook.intake_queue import NotStored
from webhook.php_form import FormError, parse_php_form
from webhook.problems import Problem, problem_response, read_form_body
from webhook.secret import matches

log = logging.getLogger("smsbridge.handler")


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
