"""The master secret, the secrets derived from it, and how every secret is compared.

WEBHOOK_SECRET, or one made once and stored in the database, so that every replica, and every
restart, uses the URL already registered in Bitrix24 and SMS.ru. The SMS.ru callback URL carries
it; each portal's HANDLER carries an HMAC of it and the portal's member_id instead, so an admin
who sees their own HANDLER learns neither the master secret nor any other portal's secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Setting
from models.insert import dialect_of, insert_ignoring_conflicts
from smsbridge.config import Settings
from smsbridge.logs import register_secret

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


def compare_secret(given: str, expected: str) -> bool:
    """Constant-time comparison, so response timing tells nothing about the secret."""
    return hmac.compare_digest(given.encode(), expected.encode())


def handler_secret(master: str, member_id: str) -> str:
    """The secret in `member_id`'s HANDLER URL: HMAC-SHA256(master, member_id), URL-safe.
    Registered for masking, as every secret is, so no log line shows it."""
    digest = hmac.new(master.encode(), b"bitrix24-handler\0" + member_id.encode(), "sha256")
    secret = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()
    register_secret(secret)
    return secret


def key_fingerprint(api_id: str) -> str:
    """What a message stores of the SMS.ru key it was sent with: enough to tell keys apart,
    nothing to send or sign with."""
    return hashlib.sha256(b"smsru-key\0" + api_id.encode()).hexdigest()[:32]
