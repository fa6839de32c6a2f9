"""The secret in our handler and callback URLs: from WEBHOOK_SECRET, or made once and stored.

Stored in the database so that every replica, and every restart, uses the URL already registered
in Bitrix24 and SMS.ru.
"""

from __future__ import annotations

import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Setting
from models.insert import dialect_of, insert_ignoring_conflicts
from smsbridge.config import Settings

_KEY = "webhook_secret"


async def resolve_webhook_secret(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> str:
    if settings.webhook_secret is not None:
        return settings.webhook_secret.get_secret_value()
    async with sessions() as session:
        dialect = dialect_of(session)
        statement = insert_ignoring_conflicts(dialect, Setting, "key").values(
            key=_KEY, value=secrets.token_urlsafe(32)
        )
        await session.execute(statement)
        stored = (
            await session.execute(select(Setting.value).where(Setting.key == _KEY))
        ).scalar_one()
        await session.commit()
        return stored


def matches(given: str, expected: str) -> bool:
    """Constant-time comparison, so response timing tells nothing about the secret."""
    return hmac.compare_digest(given.encode(), expected.encode())
