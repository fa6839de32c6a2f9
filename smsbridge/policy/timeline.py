"""A refusal told where the manager looks: a comment on the bound CRM item's timeline.

The message itself is shown `failed` in Bitrix24 by its status push; the comment says why in
plain words (the refusal's reason) so that someone can act: ask for consent, fix the robot.
Written by the pusher after the portal's statuses, 50 a `batch`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from clients.bitrix24.client import MAX_BATCH, Bitrix24Client
from clients.bitrix24.errors import Bitrix24Error
from models import Message
from models.locks import lock_messages

COMMENT_ADD = "crm.timeline.comment.add"


@dataclass(frozen=True, slots=True)
class Comment:
    pk: int
    entity_type: str
    entity_id: int
    text: str


async def due(session: AsyncSession, portal_id: int, limit: int) -> list[Comment]:
    rows = await session.execute(
        select(
            col(Message.id),
            col(Message.entity_type),
            col(Message.entity_id),
            col(Message.recipient),
            col(Message.error),
            col(Message.comment),
        )
        .where(col(Message.portal_id) == portal_id, col(Message.comment_pending).is_(True))
        .order_by(col(Message.id))
        .limit(limit)
    )
    return [
        Comment(r.id, r.entity_type, r.entity_id, r.comment or f"SMS to {r.recipient} {r.error}")
        for r in rows
        if r.entity_type and r.entity_id
    ]


async def write(client: Bitrix24Client, comments: list[Comment]) -> list[tuple[Comment, str]]:
    """Add the comments, ≤50 per batch; those refused, with Bitrix24's reason."""
    refused: list[tuple[Comment, str]] = []
    for start in range(0, len(comments), MAX_BATCH):
        chunk = comments[start : start + MAX_BATCH]
        calls = {
            str(c.pk): (
                COMMENT_ADD,
                {
                    "fields": {
                        "ENTITY_TYPE": c.entity_type,
                        "ENTITY_ID": c.entity_id,
                        "COMMENT": c.text,
                    }
                },
            )
            for c in chunk
        }
        try:
            answer = await client.batch(calls)
        except Bitrix24Error as exc:
            refused += [(c, f"Bitrix24: {exc}") for c in chunk]
            continue
        refused += [
            (c, f"Bitrix24: {error}") for c in chunk if (error := answer.failure(str(c.pk)))
        ]
    return refused


async def record(session: AsyncSession, comments: list[Comment]) -> None:
    """Written or refused, a comment is tried once: the message's own status says it failed."""
    pks = [c.pk for c in comments]
    await lock_messages(session, pks)
    await session.execute(
        update(Message).where(col(Message.id).in_(pks)).values(comment_pending=False)
    )
    await session.commit()
