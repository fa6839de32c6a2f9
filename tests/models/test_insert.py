"""`insert_ignoring_conflicts` on the real database: a row whose key is taken inserts nothing and
changes nothing, the rest of the statement still inserts, and RETURNING names only the new rows
(what the handler's group commit reads to tell duplicates apart); `insert_replacing_conflicts`
overwrites the row there instead."""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from models import Message, Portal, Setting
from models.database import make_async_engine, session_factory
from models.insert import dialect_of, insert_ignoring_conflicts, insert_replacing_conflicts
from models.types import utcnow

MESSAGES = Message.metadata.tables["messages"]


def row(portal: Portal, message_id: str, text: str) -> dict[str, object]:
    """A messages row as a Core INSERT takes it (no model defaults: the times are given)."""
    now = utcnow()
    return {
        "portal_id": portal.id,
        "message_id": message_id,
        "provider_code": "smsru",
        "kind": "transactional",
        "source": "card",
        "recipient_raw": "+79255070602",
        "text": text,
        "encoding": "gsm7",
        "segments": 1,
        "accepted_at": now,
        "next_attempt_at": now,
        "updated_at": now,
    }


def test_a_taken_key_inserts_nothing_and_the_rest_go_in(engine: Engine, portal: Portal) -> None:
    insert = insert_ignoring_conflicts(
        engine.dialect.name, MESSAGES, "portal_id", "message_id"
    ).returning(MESSAGES.c.message_id)
    with Session(engine) as session:
        first = session.execute(insert, [row(portal, "a", "first")]).scalars().all()
        session.commit()
        again = session.execute(
            insert, [row(portal, "b", "new"), row(portal, "a", "second"), row(portal, "c", "new")]
        )
        inserted = sorted(again.scalars().all())
        session.commit()
        stored = session.exec(
            select(Message.message_id, Message.text).order_by(col(Message.message_id))
        ).all()

    assert first == ["a"]
    assert inserted == ["b", "c"]  # "a" was there: not returned
    assert [tuple(r) for r in stored] == [("a", "first"), ("b", "new"), ("c", "new")]


def test_the_same_key_from_two_writers_keeps_the_first(database_url: str, engine: Engine) -> None:
    """The webhook secret: replicas that start together each offer one; the first one stays."""

    async def offer(value: str) -> None:
        async_engine = make_async_engine(database_url)
        try:
            async with session_factory(async_engine)() as session:
                dialect = dialect_of(session)
                insert = insert_ignoring_conflicts(dialect, Setting, "key")
                await session.execute(insert.values(key="webhook_secret", value=value))
                await session.commit()
        finally:
            await async_engine.dispose()

    asyncio.run(offer("one"))
    asyncio.run(offer("two"))

    with Session(engine) as session:
        assert session.exec(select(Setting.key, Setting.value)).all() == [("webhook_secret", "one")]


def test_a_taken_key_is_overwritten_and_the_rest_go_in(engine: Engine) -> None:
    """`insert_replacing_conflicts`: one statement writes rows whether or not their key is there."""
    upsert = insert_replacing_conflicts(engine.dialect.name, Setting, "key")
    with Session(engine) as session:
        session.execute(upsert, [{"key": "a", "value": "first"}])
        session.commit()
        session.execute(upsert, [{"key": "b", "value": "new"}, {"key": "a", "value": "second"}])
        session.commit()
        stored = session.exec(select(Setting.key, Setting.value).order_by(col(Setting.key))).all()

    assert [tuple(r) for r in stored] == [("a", "second"), ("b", "new")]
