"""A Bitrix24 client for one stored portal: its tokens and its rate budget from the database."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from clients.bitrix24.client import Bitrix24Client
from smsbridge.config import Settings
from smsbridge.portal_limiter import PortalRateLimiter
from smsbridge.portal_tokens import PortalTokens


def portal_client(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    http: httpx.AsyncClient,
    portal_id: int,
) -> Bitrix24Client:
    return Bitrix24Client(
        PortalTokens(sessions, settings, http, portal_id),
        PortalRateLimiter(sessions, portal_id),
        http,
    )
