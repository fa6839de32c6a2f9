"""Row locks on messages, always taken in id order.

Every writer that updates several messages (callbacks and polls, the pusher, the flag writer)
locks them in id order first; in any other order two of them can deadlock on PostgreSQL, and a
push Bitrix24 already took then stays pending and goes out again.
"""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.message import Message


async def lock_messages(session: AsyncSession, pks: list[int]) -> None:
    if pks:
        await session.execute(
            select(Message.id)
            .where(col(Message.id).in_(pks))
            .order_by(col(Message.id))
            .with_for_update()
        )
