"""Group commit for the handler: messages that arrive together are stored in one transaction.

Bitrix24 gets its 200 only after the commit that holds its message, and a commit costs more than
an insert (an fsync on SQLite; a WAL flush and a round trip on PostgreSQL). One writer task stores
whatever has arrived since its last transaction began, so under load a commit serves many
requests, while a lone request waits for nothing but its own transaction.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from smsbridge import metrics
from webhook.intake import Arrival, Intake, store

MAX_BATCH = 200  # rows in one INSERT: 200 × 29 parameters stays far below SQLite's limit


class NotStored(Exception):
    """The database did not store the message (unreachable, or refused its row); the cause is
    chained. The handler answers 503: Bitrix24 then shows the message as not sent."""


class IntakeQueue:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], max_batch: int = MAX_BATCH
    ) -> None:
        self.sessions = sessions
        self.max_batch = max_batch
        self._waiting: list[tuple[Arrival, asyncio.Future[Intake]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def take_in(self, arrival: Arrival) -> Intake:
        """Store the arrival, with whatever arrives meanwhile, and return once it is committed.

        Raises the arrival's `Problem` when it is refused, `NotStored` when the database failed.
        A request cancelled while it waits does not take its message out of the transaction.
        """
        future: asyncio.Future[Intake] = asyncio.get_running_loop().create_future()
        self._waiting.append((arrival, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write())
        return await asyncio.shield(future)

    async def _write(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[: self.max_batch]
                del self._waiting[: self.max_batch]
                metrics.INTAKE_BATCH.observe(len(batch))
                try:
                    await self._store(batch)
                finally:  # whatever happened, no request waits for ever
                    _settle(batch, "the intake writer stopped", None)
        finally:
            self._writer = None

    async def _store(self, batch: list[tuple[Arrival, asyncio.Future[Intake]]]) -> None:
        try:
            async with self.sessions() as session:
                outcomes = await store(session, [arrival for arrival, _ in batch])
        except Exception as exc:
            unreachable = isinstance(exc, OperationalError | InterfaceError)  # alone no better
            if len(batch) > 1 and not unreachable:  # one bad row must not fail the others
                for one in batch:
                    await self._store([one])
                return
            _settle(batch, f"{type(exc).__name__} while storing", exc)
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():
                continue
            if isinstance(outcome, Intake):
                future.set_result(outcome)
            else:
                future.set_exception(outcome)


def _settle(
    batch: list[tuple[Arrival, asyncio.Future[Intake]]], reason: str, cause: Exception | None
) -> None:
    """Fail every request of the batch that has no outcome yet, each with its own `NotStored`."""
    for _, future in batch:
        if not future.done():
            error = NotStored(reason)
            error.__cause__ = cause
            future.set_exception(error)
