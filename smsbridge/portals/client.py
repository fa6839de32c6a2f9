"""A Bitrix24 client for one stored portal: its tokens and its rate budget from the database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from clients.bitrix24.client import Bitrix24Client
from smsbridge.config import Settings
from smsbridge.portals.limiter import PortalRateLimiter
from smsbridge.portals.tokens import PortalTokens


def portal_client(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    http: httpx.AsyncClient,
    portal_id: int,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Bitrix24Client:
    """`sleep` waits out a retry's backoff: a worker passes one that ends early when it stops."""
    return Bitrix24Client(
        PortalTokens(sessions, settings, http, portal_id),
        PortalRateLimiter(sessions, portal_id),
        http,
        sleep=sleep,
    )
