"""A test send from the app's page (a probe): one SMS through the outbox like any other.

It goes the whole way a CRM message goes (queued → the sender → SMS.ru → callback or poll) so
that the admin sees the account and the sender name work, but it has no Bitrix24 message behind
it: its source is `Source.TEST`, which the status pusher never pushes.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Message, Portal
from models.types import utcnow
from smsbridge.frame.refusal import Refusal
from smsbridge.rules.origin import Kind, Source
from smsbridge.rules.phones import PhoneError, to_e164
from smsbridge.rules.segments import check_text, measure
from smsbridge.status.states import FINAL, State

MESSAGE_ID_PREFIX = "app-test-"


class ProbeRefused(Refusal):
    """The number or the text cannot be sent; the reason says why, in the page's language."""


@dataclass(frozen=True, slots=True)
class ProbeStatus:
    pk: int
    state: str
    final: bool
    error: str | None
    recipient: str


async def queue_probe(session: AsyncSession, portal: Portal, phone: str, text: str) -> int:
    """Queue the test SMS (committed) and give its pk; `ProbeRefused` for a bad number or text."""
    assert portal.id is not None
    try:
        recipient = to_e164(phone)
    except PhoneError as exc:
        raise ProbeRefused("phone", phone=phone[:40], reason=exc.said) from None
    size = measure(text)
    problem = check_text(text, size)
    if problem is not None:
        raise ProbeRefused("text", reason=problem)
    now = utcnow()
    message = Message(
        portal_id=portal.id,
        message_id=MESSAGE_ID_PREFIX + secrets.token_hex(8),
        provider_code="",
        kind=Kind.TRANSACTIONAL,
        source=Source.TEST,
        recipient=recipient,
        recipient_raw=phone[:64],
        text=text,
        encoding=size.encoding,
        segments=size.segments,
        state=State.QUEUED,
        next_attempt_at=now,
        accepted_at=now,
        updated_at=now,
    )
    session.add(message)
    await session.commit()
    assert message.id is not None
    return message.id


async def probe_status(session: AsyncSession, portal_id: int, pk: int) -> ProbeStatus | None:
    """The test SMS `pk` of the portal now (None: no such test send of that portal)."""
    row = (
        await session.execute(
            select(Message.state, Message.error, Message.recipient).where(
                col(Message.id) == pk,
                col(Message.portal_id) == portal_id,
                col(Message.source) == Source.TEST,
            )
        )
    ).first()
    if row is None:
        return None
    state = State(row.state)
    return ProbeStatus(pk, state.value, state in FINAL, row.error, row.recipient or "")
