"""Why a sandbox message was not delivered, in SMS.ru's words, as our database knows it.

The portal shows only `failed` or `undelivered`; the reason (SMS.ru's code at send time or its
final status, or our own refusal) is on the message's row, which `sandbox send` reads to say it.
"""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from clients.smsru.codes import meaning
from models import Message
from models.database import make_sync_engine
from smsbridge.config import ConfigError, load_settings


def accepted_by_smsru(message_ids: list[str]) -> set[str]:
    """Which of Bitrix24's messages SMS.ru has accepted and not yet finished (sent, in transit)."""
    try:
        engine = make_sync_engine(load_settings().database)
    except ConfigError:
        return set()
    try:
        with Session(engine) as session:
            rows = session.exec(
                select(Message.message_id).where(
                    col(Message.message_id).in_(message_ids),
                    col(Message.state).in_(("sent", "in_transit")),
                )
            ).all()
    except SQLAlchemyError:
        return set()
    finally:
        engine.dispose()
    return set(rows)


def why_not_delivered(message_id: str) -> str | None:
    """The reason of Bitrix24's message `message_id`, or None when it is not known here."""
    try:
        engine = make_sync_engine(load_settings().database)
    except ConfigError:
        return None
    try:
        with Session(engine) as session:
            message = session.exec(select(Message).where(Message.message_id == message_id)).first()
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()
    if message is None:
        return None
    for code in (message.send_code, message.status_code):
        if code is not None and code not in (100, 101, 102, 103):
            return f"SMS.ru code {code}: {meaning(code)}"
    return message.error
