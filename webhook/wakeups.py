"""Wake-ups across processes: PostgreSQL NOTIFY from intake, LISTEN in the worker processes.

An idle sender looks at the outbox every second, an idle pusher every half second; a wake-up only
saves that wait. In one process a wake-up is a method call. When intake runs apart from the
workers (`smsbridge webhook --no-workers` beside `smsbridge worker`), the web process NOTIFYs a
channel after the commit and every process with workers LISTENs to it. Each side holds one
connection of its own, outside the pool. SQLite has no such channel: there the idle poll is the
wake-up. A lost connection costs only latency (the poll still finds the work), so both sides log
it and reconnect.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL

SENDER = "smsbridge_outbox"
PUSHER = "smsbridge_push"
RECONNECT_AFTER = 5.0  # seconds
# Under load a NOTIFY per request would cost intake CPU for nothing (busy workers do not wait),
# so wake-ups are coalesced: at most one NOTIFY per channel in this many seconds.
MIN_GAP = 0.01

log = logging.getLogger("smsbridge.wakeups")


def supported(url: URL) -> bool:
    return url.get_backend_name() == "postgresql"


def _conninfo(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class Notifier:
    """`waker(channel)()` asks for a NOTIFY on `channel`; one task sends them, coalesced."""

    def __init__(self, url: URL) -> None:
        self._conninfo = _conninfo(url)
        self._asked: set[str] = set()
        self._due = asyncio.Event()

    def waker(self, channel: str) -> Callable[[], None]:
        def wake() -> None:
            self._asked.add(channel)
            self._due.set()

        return wake

    async def run(self) -> None:
        connection: psycopg.AsyncConnection[object] | None = None
        try:
            while True:
                await self._due.wait()
                self._due.clear()
                channels, self._asked = self._asked, set()
                try:
                    if connection is None or connection.closed:
                        connection = await psycopg.AsyncConnection.connect(
                            self._conninfo, autocommit=True
                        )
                    for channel in sorted(channels):
                        await connection.execute("SELECT pg_notify(%s, '')", (channel,))
                except psycopg.Error as exc:
                    log.warning(
                        "could not send a wake-up; the workers' poll finds the work: %s", exc
                    )
                    if connection is not None:
                        await connection.close()
                        connection = None
                    await asyncio.sleep(RECONNECT_AFTER)
                await asyncio.sleep(MIN_GAP)
        finally:
            if connection is not None:
                await connection.close()


class Listener:
    """LISTENs to each channel of `wakers` and calls its waker per notification."""

    def __init__(self, url: URL, wakers: Mapping[str, Callable[[], None]]) -> None:
        self._conninfo = _conninfo(url)
        self._wakers = dict(wakers)

    async def run(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True
                ) as connection:
                    for channel in self._wakers:
                        await connection.execute(
                            sql.SQL("LISTEN {}").format(sql.Identifier(channel))
                        )
                    log.info("listening for wake-ups on %s", ", ".join(self._wakers))
                    for wake in self._wakers.values():  # whatever came while nobody listened
                        wake()
                    async for notice in connection.notifies():
                        self._wakers[notice.channel]()
            except psycopg.Error as exc:
                log.warning("wake-up channel lost; polling until it is back: %s", exc)
            await asyncio.sleep(RECONNECT_AFTER)
