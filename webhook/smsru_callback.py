"""SMS.ru's status callbacks: verify the signature, apply the records, answer `100` after commit.

SMS.ru retries a callback until it gets the body `100`, so anything short of a commit (a bad
signature, a database error) answers otherwise and the records come again. Every portal's admin
knows their own SMS.ru key and can sign a callback with it, so a callback moves only messages
sent with the key that signed it; records about other messages are logged and ignored (and still
answered `100`, or SMS.ru would resend them forever). One exception: a status may come before
the send it is about has stored its SMS.ru id (SMS.ru answered, our commit not yet done); while
a send with that key is in flight, statuses for ids we do not know are asked for again (not
`100`): SMS.ru's retry brings them once the id is stored, the rest of the batch applied already.
"""

from __future__ import annotations

import logging

from sqlalchemy import update
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
from smsbridge.portals.retired_keys import retired_api_ids
from smsbridge.secret import compare_secret, key_fingerprint
from smsbridge.status.observations import (
    KeyScope,
    Observation,
    apply_observations,
    sends_in_flight,
)
from webhook.forms import parse_flat_form, read_form_body
from webhook.problems import Problem, problem_response

log = logging.getLogger("smsbridge.callback")

MAX_RECORDS = 1000


async def smsru_callback(request: Request) -> Response:
    state = request.app.state
    try:
        if not compare_secret(request.path_params["secret"], state.webhook_secret):
            raise Problem(401, "wrong secret in the callback URL")
        form = parse_flat_form(await read_form_body(request), MAX_RECORDS + 2)
        values = ordered_values(form)
        if not values:
            raise Problem(400, "no data[N] records")
        if len(values) > MAX_RECORDS:
            raise Problem(413, f"more than {MAX_RECORDS} records")
        async with state.sessions() as session:
            keys = await _api_ids(session, state.settings.smsru_key)
            key = verify(keys, values, form.get("hash", ""))
            if key is None:
                raise Problem(403, "hash does not match any configured SMS.ru key")
            observations = _observations(values)
            applied = None
            early = False
            if observations:
                scope = await _scope(session, key, state.settings.smsru_key)
                applied = await apply_observations(session, observations, scope)
                early = bool(applied.unknown) and await sends_in_flight(session, scope)
            await _note_callback(session, key, state.settings.smsru_key)
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
        metrics.CALLBACK_RECORDS.labels("foreign").inc(len(applied.foreign))
        if applied.advanced:
            state.wake_pusher()
        if early:  # the rest is stored; SMS.ru sends the batch again, stale but for these
            log.info(
                "callback came before its send was stored; asked again %s",
                fields(unknown=len(applied.unknown)),
            )
            return problem_response(
                503, f"{len(applied.unknown)} statuses for sends not stored yet; send again"
            )
        for sms_id in applied.unknown:
            log.info("callback for an unknown message %s", fields(sms_id=sms_id))
        for sms_id in applied.foreign:
            log.warning(
                "callback ignored: the message was sent with another SMS.ru key %s",
                fields(sms_id=sms_id),
            )
    log.info(
        "callback applied %s",
        fields(
            records=len(values),
            statuses=len(observations),
            advanced=applied.advanced if applied else 0,
            stale=applied.stale if applied else 0,
            unknown=len(applied.unknown) if applied else 0,
            foreign=len(applied.foreign) if applied else 0,
        ),
    )
    return PlainTextResponse("100")


async def _api_ids(session: AsyncSession, global_key: str | None) -> list[str]:
    """Every SMS.ru key we send or sent with: the callback may come for any of them."""
    rows = await session.execute(
        select(Portal.smsru_api_id).where(col(Portal.smsru_api_id).is_not(None)).distinct()
    )
    keys = {key for key in rows.scalars() if key} | await retired_api_ids(session)
    if global_key:
        keys.add(global_key)
    return sorted(keys)


async def _note_callback(session: AsyncSession, key: str, global_key: str | None) -> None:
    """When SMS.ru last called back, on every portal sending with the key that signed it (the
    app's page shows it)."""
    using = (await _scope(session, key, global_key)).unmarked_portals
    if using:
        await session.execute(
            update(Portal).where(col(Portal.id).in_(using)).values(last_callback_at=utcnow())
        )
        await session.commit()


async def _scope(session: AsyncSession, key: str, global_key: str | None) -> KeyScope:
    """What a callback signed with `key` may move (see `KeyScope`)."""
    rows = await session.execute(select(col(Portal.id), col(Portal.smsru_api_id)))
    using = frozenset(
        portal_id for portal_id, own in rows if (own or global_key) == key and portal_id
    )
    return KeyScope(key_fingerprint(key), using)


def _observations(values: list[str]) -> list[Observation]:
    now = utcnow()
    observations = []
    for value in values:
        record = parse_record(value)
        if record.kind != "sms_status" or record.id is None or record.code is None:
            continue  # `test` heartbeats, callcheck results and unknown kinds
        observations.append(Observation(record.id, record.code, "callback", record.at or now))
    return observations
