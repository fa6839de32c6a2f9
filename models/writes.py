"""Row writes that several writers share (intake, the outbox, callbacks and polls).

Statements built once and given their values at execution (building one costs more CPU than
running it), on the tables rather than the ORM classes (no ORM work for plain rows).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from sqlalchemy import bindparam, insert, update
from sqlmodel.ext.asyncio.session import AsyncSession

from models.message import Message
from models.status_log import StatusLog

_MESSAGES = Message.metadata.tables["messages"]
_UPDATE_BY_PK = update(_MESSAGES).where(_MESSAGES.c.id == bindparam("pk_"))
_INSERT_LOG = insert(StatusLog.metadata.tables["status_log"])


async def update_messages(
    session: AsyncSession, changes: Mapping[int, Mapping[str, object]]
) -> None:
    """Set each message's columns (pk → {column: value}) in one executemany UPDATE per distinct
    set of columns: a batch of 100 costs a round trip or two, not 100. The caller holds the rows'
    locks (taken in id order), so the order of the writes cannot deadlock."""
    groups: dict[tuple[str, ...], list[dict[str, object]]] = defaultdict(list)
    for pk, values in sorted(changes.items()):
        groups[tuple(sorted(values))].append({"pk_": pk, **values})
    for rows in groups.values():
        await session.execute(_UPDATE_BY_PK, rows)


async def append_status_log(session: AsyncSession, entries: list[dict[str, object]]) -> None:
    """Append status-log entries (StatusLog's columns) in one executemany INSERT."""
    if entries:
        await session.execute(_INSERT_LOG, entries)
