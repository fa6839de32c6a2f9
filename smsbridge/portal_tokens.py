"""A portal's OAuth tokens, kept in its database row and refreshed by one process at a time.

Refresh tokens are single-use: two processes refreshing at once would lock the portal out
(`invalid_grant`). So a refresh happens under a row lock on the portal; a process that waited
for the lock finds the pair already replaced and uses it instead of refreshing again, and the new
pair is committed before anyone uses it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from clients.bitrix24.errors import OAuthError
from clients.bitrix24.tokens import TokenPair, refresh_tokens
from models import Portal
from models.types import utcnow
from smsbridge.config import Settings
from smsbridge.logs import fields, register_secret
from smsbridge.metrics import TOKEN_REFRESHES

log = logging.getLogger("smsbridge.tokens")


class PortalNotAuthorized(Exception):
    """The portal has no usable tokens (never installed, or the app was revoked)."""


def token_pair(portal: Portal) -> TokenPair:
    if not portal.access_token or not portal.refresh_token or portal.auth_error:
        reason = portal.auth_error or "no OAuth tokens stored; install the app on the portal"
        raise PortalNotAuthorized(f"portal {portal.member_id}: {reason}")
    return TokenPair(
        access_token=portal.access_token,
        refresh_token=portal.refresh_token,
        expires_at=portal.access_expires_at or datetime.fromtimestamp(0, UTC),
        client_endpoint=portal.client_endpoint,
        member_id=portal.member_id,
        domain=portal.domain,
    )


class PortalTokens:
    """`clients.bitrix24.tokens.TokenSource` backed by the portal's row."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        http: httpx.AsyncClient,
        portal_id: int,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.http = http
        self.portal_id = portal_id

    async def current(self) -> TokenPair:
        async with self.sessions() as session:
            portal = await session.get(Portal, self.portal_id)
            assert portal is not None
            return token_pair(portal)

    async def refreshed(self, stale: TokenPair) -> TokenPair:
        async with self.sessions() as session:
            portal = (
                await session.execute(
                    select(Portal).where(col(Portal.id) == self.portal_id).with_for_update()
                )
            ).scalar_one()
            if portal.access_token != stale.access_token:
                await session.commit()
                return token_pair(portal)  # another process refreshed while we waited
            client_id = self.settings.bitrix24_client_id or ""
            secret = self.settings.bitrix24_client_secret
            try:
                fresh = await refresh_tokens(
                    self.http,
                    str(self.settings.bitrix24_oauth_url).rstrip("/"),
                    client_id,
                    secret.get_secret_value() if secret else "",
                    portal.refresh_token or "",
                )
            except OAuthError as exc:
                TOKEN_REFRESHES.labels("refused").inc()
                if exc.revoked:
                    portal.auth_error = f"Bitrix24 refused to refresh the tokens: {exc}"
                    portal.updated_at = utcnow()
                    session.add(portal)
                    await session.commit()
                    log.error(
                        "portal not authorized %s",
                        fields(portal=portal.member_id, reason=portal.auth_error),
                    )
                raise
            TOKEN_REFRESHES.labels("ok").inc()
            register_secret(fresh.access_token)
            register_secret(fresh.refresh_token)
            portal.access_token = fresh.access_token
            portal.refresh_token = fresh.refresh_token
            portal.access_expires_at = fresh.expires_at
            portal.client_endpoint = fresh.client_endpoint or portal.client_endpoint
            portal.updated_at = utcnow()
            session.add(portal)
            await session.commit()
            log.info("tokens refreshed %s", fields(portal=portal.member_id))
            return token_pair(portal)
