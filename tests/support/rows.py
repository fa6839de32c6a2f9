"""Rows written straight into the database, for tests that start from a given state, and async
sessions on it for tests that call the query modules themselves."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Message, Portal
from models.database import make_async_engine, session_factory
from sandbox.bitrix24.messages import new_message_id

T = TypeVar("T")


def queued_message(portal: Portal, number: str, text: str, **values: object) -> Message:
    """A message as the handler stores it, written straight into the outbox."""
    assert portal.id is not None
    fields: dict[str, object] = {
        "portal_id": portal.id,
        "message_id": new_message_id(),
        "provider_code": "smsru",
        "kind": "transactional",
        "source": "card",
        "recipient": "+" + number,
        "recipient_raw": "+" + number,
        "text": text,
        "encoding": "gsm7",
        "segments": 1,
    }
    return Message(**(fields | values))


def with_sessions(
    database_url: str, work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]
) -> T:
    """Run `work(sessions)` on a fresh event loop, with its own async engine; its result."""

    async def main() -> T:
        engine = make_async_engine(database_url)
        try:
            return await work(session_factory(engine))
        finally:
            await engine.dispose()

    return asyncio.run(main())
