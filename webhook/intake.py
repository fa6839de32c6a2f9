"""Taking a message in: one transaction that stores it (or finds it already stored).

A message whose content cannot be sent (bad number, empty or over-long text) is still stored,
as `failed` with the reason, so that Bitrix24 is told it failed instead of showing it as sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy import Insert, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Message
from models.insert import dialect_of, insert_ignoring_conflicts
from models.types import utcnow
from smsbridge.observations import append_status_log
from smsbridge.origin import FLAGGED_ENTITIES, Source, classify_origin, crm_entity
from smsbridge.phones import DEFAULT_REGION, PhoneError, to_e164
from smsbridge.segments import MAX_SEGMENTS, measure
from smsbridge.states import State
from webhook.handler_request import HandlerRequest


@dataclass(frozen=True, slots=True)
class Intake:
    message_pk: int
    state: State
    reason: str | None  # why the message cannot be sent, when it cannot
    duplicate: bool


def _content_problem(
    request: HandlerRequest, recipient: str | None, error: str | None, segments: int
) -> str | None:
    if recipient is None:
        return error
    if not request.text:
        return "message_body is empty"
    if segments > MAX_SEGMENTS:
        return f"text needs {segments} SMS; SMS.ru sends at most {MAX_SEGMENTS}"
    return None


async def take_in(session: AsyncSession, portal_id: int, request: HandlerRequest) -> Intake:
    """Store the message unless its message_id is already stored; commit."""
    recipient: str | None
    try:
        recipient, error = to_e164(request.phone, DEFAULT_REGION), None
    except PhoneError as exc:
        recipient, error = None, f"message_to: {exc.reason}"
    size = measure(request.text)
    reason = _content_problem(request, recipient, error, size.segments)
    state = State.FAILED if reason else State.QUEUED
    kind, source = classify_origin(request.module_id)
    entity = crm_entity(request.bindings, request.document_id)
    entity_type, entity_id = entity if entity else (None, None)
    now = utcnow()
    values = {
        "portal_id": portal_id,
        "message_id": request.message_id,
        "provider_code": request.code,
        "kind": kind,
        "source": source,
        "module_id": request.module_id,
        "bindings": request.bindings,
        "workflow_id": request.workflow_id,
        "document_id": request.document_id,
        "document_type": request.document_type,
        "author_id": (request.auth or {}).get("user_id"),
        "entity_type": entity_type,
        "entity_id": entity_id,
        "flag_pending": source is Source.ROBOT and entity_type in FLAGGED_ENTITIES and not reason,
        "recipient": recipient,
        "recipient_raw": request.phone,
        "text": request.text,
        "encoding": size.encoding,
        "segments": size.segments,
        "state": state,
        "error": reason,
        "attempts": 0,
        "next_attempt_at": now,
        "accepted_at": now,
        "final_at": now if reason else None,
        "push_pending": bool(reason),
        "updated_at": now,
    }
    inserted = (await session.execute(_insert_message(dialect_of(session)), values)).scalar()
    if inserted is None:
        row = (
            await session.execute(
                select(Message.id, Message.state, Message.error).where(
                    Message.portal_id == portal_id, Message.message_id == request.message_id
                )
            )
        ).one()
        await session.commit()
        return Intake(row.id, State(row.state), row.error, duplicate=True)
    entry = {
        "message_pk": inserted,
        "state": state,
        "source": "handler",
        "detail": reason,
        "observed_at": now,
    }
    await append_status_log(session, [entry])
    await session.commit()
    return Intake(inserted, state, reason, duplicate=False)


@cache
def _insert_message(dialect: str) -> Insert:
    """Built once per backend and given its values at execution: building (and cache-keying) a
    statement with 25 literal values took more CPU than running it."""
    table = Message.metadata.tables["messages"]
    return insert_ignoring_conflicts(dialect, table, "portal_id", "message_id").returning(
        table.c.id
    )
