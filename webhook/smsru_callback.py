"""SMS.ru's status callbacks: verify the signature, apply the records, answer `100` after commit.

SMS.ru retries a callback until it gets the body `100`, so anything short of a commit (a bad
signature, a database error) answers otherwise and the records come again.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from clients.smsru.callbacks import ordered_values, parse_record, verify
from models import Portal
from models.types import utcnow
from smsbridge import metrics
from smsbridge.logs import fields
from smsbridge.observations import Observation, apply_observations
from webhook.problems import Problem, problem_response, read_form_body
from webhook.secret import matches

log = logging.getLogger("smsbridge.callback")

MAX_RECORDS = 1000


async def smsru_callback(request: Request) -> Response:
    state = request.app.state
    try:
        if not matches(request.path_params["secret"], state.webhook_secret):
            raise Problem(401, "wrong secret in the callback URL")
        form = _form(await read_form_body(request))
        values = ordered_values(form)
        if not values:
            raise Problem(400, "no data[N] records")
        if len(values) > MAX_RECORDS:
            raise Problem(413, f"more than {MAX_RECORDS} records")
        async with state.sessions() as session:
            keys = await _api_ids(session, state.settings.smsru_key)
            if verify(keys, values, form.get("hash", "")) is None:
                raise Problem(403, "hash does not match any configured SMS.ru key")
            observations = _observations(values)
            applied = await apply_observations(session, observations) if observations else None
    except Problem as problem:
        log.warning("callback refused %s", fields(status=problem.status, reason=problem.reason))
        return problem_response(problem.status, problem.reason)
    except SQLAlchemyError:
        log.exception("callback could not be stored; SMS.ru will send it again")
        return problem_response(503, "storage unavailable; send again later")
    if applied is not None:
        metrics.CALLBACK_RECORDS.labels("advanced").inc(applied.advanced)
        metrics.CALLBACK_RECORDS.labels("stale").inc(applied.stale)
        metrics.CALLBACK_RECORDS.labels("unknown").inc(len(applied.unknown))
        if applied.advanced:
            state.pusher.wake()
        for sms_id in applied.unknown:
            log.info("callback for an unknown message %s", fields(sms_id=sms_id))
    log.info(
        "callback applied %s",
        fields(
            records=len(values),
            statuses=len(observations),
            advanced=applied.advanced if applied else 0,
            stale=applied.stale if applied else 0,
            unknown=len(applied.unknown) if applied else 0,
        ),
    )
    return PlainTextResponse("100")


def _form(body: bytes) -> dict[str, str]:
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_RECORDS + 2
        )
    except (UnicodeDecodeError, ValueError):
        raise Problem(400, "not a form of data[N] records and a hash") from None
    if any("\x00" in key or "\x00" in value for key, value in pairs):
        raise Problem(400, "a field contains a NUL character")
    return dict(pairs)


async def _api_ids(session: AsyncSession, global_key: str | None) -> list[str]:
    """Every SMS.ru key we send with: the callback may come for any of them."""
    rows = await session.execute(
        select(Portal.smsru_api_id).where(col(Portal.smsru_api_id).is_not(None)).distinct()
    )
    keys = {key for key in rows.scalars() if key}
    if global_key:
        keys.add(global_key)
    return sorted(keys)


def _observations(values: list[str]) -> list[Observation]:
    now = utcnow()
    observations = []
    for value in values:
        record = parse_record(value)
        if record.kind != "sms_status" or record.id is None or record.code is None:
            continue  # `test` heartbeats, callcheck results and unknown kinds
        observations.append(Observation(record.id, record.code, "callback", record.at or now))
    return observations
