"""Row locks on messages, always taken in id order.

Every writer that updates several messages (callbacks and polls, the sender, the pusher, the flag
and comment writers, the sweeps, an uninstall, retention) locks them in id order first. A bare
`UPDATE … WHERE` locks rows in the order it finds them on disk instead, and PostgreSQL then breaks
the deadlock it meets by failing one side: a callback answered 503, or a push Bitrix24 already
took left pending, to go out a second time.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.message import Message


async def lock_messages(session: AsyncSession, pks: list[int]) -> None:
    if pks:
        await lock_messages_where(session, col(Message.id).in_(pks))


async def lock_messages_where(session: AsyncSession, *where: Any) -> list[int]:
    """Lock the messages `where` selects, in id order; their ids."""
    locked = await session.execute(
        select(Message.id).where(*where).order_by(col(Message.id)).with_for_update()
    )
    return list(locked.scalars())
