"""What a flow run or a CLI command needs: the settings, database sessions and an HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from clients.transport import DEFAULT_TIMEOUT
from models.database import make_async_engine, session_factory
from smsbridge.config import Settings, load_settings
from smsbridge.logs import protect, register_secret


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient


@asynccontextmanager
async def runtime(settings: Settings | None = None) -> AsyncIterator[Runtime]:
    settings = settings or load_settings()
    for secret in settings.secrets():
        register_secret(secret)
    protect()
    engine = make_async_engine(settings.database, pool_size=4)
    try:
        async with httpx.AsyncClient(timeout=DEFAULT_TIMEOUT) as http:
            yield Runtime(settings, session_factory(engine), http)
    finally:
        await engine.dispose()
