"""The send lanes: transactional and marketing claimed from separate queues, each with its own
senders, so that a code never waits behind a campaign, neither queued nor in flight.

With `lanes=False` one sender claims every kind first in, first out (what bench/lanes.py compares).
"""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from smsbridge.config import Settings
from smsbridge.rules.origin import Kind
from webhook.sender import Sender, SenderOptions


class SendLanes:
    """The senders of one replica, started, woken and stopped together."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        http: httpx.AsyncClient,
        options: SenderOptions,
    ) -> None:
        if options.lanes:
            self.senders = [
                Sender(sessions, settings, http, options, lane=Kind.TRANSACTIONAL),
                Sender(
                    sessions,
                    settings,
                    http,
                    options,
                    lane=Kind.MARKETING,
                    workers=options.marketing_workers,
                ),
            ]
        else:
            self.senders = [Sender(sessions, settings, http, options)]

    def start(self) -> None:
        for sender in self.senders:
            sender.start()

    def wake(self) -> None:
        for sender in self.senders:
            sender.wake()

    @property
    def running(self) -> bool:
        return any(sender.running for sender in self.senders)

    async def stop(self, grace: float = 30.0) -> None:
        await asyncio.gather(*(sender.stop(grace) for sender in self.senders))
