"""A portal's OAuth tokens, kept in its database row and refreshed by one process at a time;
whether Bitrix24 can be called for the portal at all, and the record of its refusal.

Refresh tokens are single-use: two processes refreshing at once would lock the portal out
(`invalid_grant`). So a process first claims a refresh lease on the portal row (a short
transaction), makes the refresh call outside any transaction, and stores the new pair in another
short one; the others wait for the lease by reading the row, and use the pair it leaves. No lock is
held across the call: message intake writes to the same database (on SQLite every transaction
holds the one write lock; on PostgreSQL a row lock `FOR UPDATE` blocks the foreign-key check of
every message stored for the portal), and must not wait for the authorization server.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import ColumnElement, and_, or_, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from clients.bitrix24.errors import OAuthError
from clients.bitrix24.tokens import TokenPair, refresh_tokens
from models import Portal
from models.types import max_length, utcnow
from smsbridge.config import Settings
from smsbridge.logs import fields, register_secret
from smsbridge.metrics import TOKEN_REFRESHES
from smsbridge.portals.verify import authorization_server

log = logging.getLogger("smsbridge.tokens")

NOT_INSTALLED = "the app is not installed there"

# Longer than a refresh call can last (clients.transport: 5 s connect + 10 s write + 60 s read),
# so a live holder never loses its lease; a crashed one's lease lapses after this.
REFRESH_LEASE = timedelta(seconds=120)
WAIT_STEP = 0.1  # seconds between looks at the row while another process refreshes


class PortalNotAuthorized(Exception):
    """Bitrix24 cannot be called for the portal: never installed, or refused since."""

    def __init__(self, portal: Portal) -> None:
        super().__init__(f"portal {portal.member_id} cannot be called: {why_not_callable(portal)}")


def why_not_callable(portal: Portal) -> str | None:
    """Why Bitrix24 cannot be called for `portal` (its refusal, or no tokens), or None if it can.

    A portal is stored without tokens when added by hand (`smsbridge portal add`); `auth_error`
    is set when Bitrix24 refuses to refresh its tokens, and cleared by a new install."""
    if portal.auth_error:
        return portal.auth_error
    if not portal.access_token or not portal.refresh_token:
        return NOT_INSTALLED
    return None


def callable_clause() -> ColumnElement[bool]:
    """`why_not_callable(portal) is None`, as SQL (no empty token or reason is ever stored)."""
    return and_(
        col(Portal.auth_error).is_(None),
        col(Portal.access_token).is_not(None),
        col(Portal.refresh_token).is_not(None),
    )


def token_pair(portal: Portal) -> TokenPair:
    if why_not_callable(portal) is not None:
        raise PortalNotAuthorized(portal)
    assert portal.access_token is not None and portal.refresh_token is not None
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
        claim = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"[-64:]
        while True:
            portal, claimed = await self._claim(stale, claim)
            if claimed:
                break
            if portal.access_token != stale.access_token or portal.auth_error:
                return token_pair(portal)  # another process refreshed (or was refused)
            await asyncio.sleep(WAIT_STEP)  # another process holds the lease: wait for its pair
        used = portal.refresh_token or ""
        try:
            fresh = await self._call(authorization_server(portal, self.settings), used)
        except OAuthError as exc:
            stored = await self._refused(claim, used, exc)
            if stored is None:
                raise
            return stored
        except BaseException:
            await self._release(claim)
            raise
        return await self._store(claim, used, fresh)

    async def _claim(self, stale: TokenPair, claim: str) -> tuple[Portal, bool]:
        """Take the refresh lease if the row still holds `stale` and no live lease; the row."""
        now = utcnow()
        async with self.sessions() as session:
            taken = await session.execute(
                update(Portal)
                .where(
                    col(Portal.id) == self.portal_id,
                    col(Portal.access_token) == stale.access_token,
                    col(Portal.auth_error).is_(None),
                    or_(
                        col(Portal.refresh_lease_until).is_(None),
                        col(Portal.refresh_lease_until) < now,
                    ),
                )
                .values(refresh_claimed_by=claim, refresh_lease_until=now + REFRESH_LEASE)
            )
            portal = (
                await session.execute(select(Portal).where(col(Portal.id) == self.portal_id))
            ).scalar_one()
            await session.commit()
        return portal, bool(taken.rowcount)  # type: ignore[attr-defined]

    async def _call(self, server: str, refresh_token: str) -> TokenPair:
        secret = self.settings.bitrix24_client_secret
        return await refresh_tokens(
            self.http,
            server,
            self.settings.bitrix24_client_id or "",
            secret.get_secret_value() if secret else "",
            refresh_token,
        )

    async def _store(self, claim: str, used: str, fresh: TokenPair) -> TokenPair:
        """The new pair replaces the one it was refreshed from (unless an install replaced it)."""
        TOKEN_REFRESHES.labels("ok").inc()
        register_secret(fresh.access_token)
        register_secret(fresh.refresh_token)
        values: dict[str, Any] = {
            "access_token": fresh.access_token,
            "refresh_token": fresh.refresh_token,
            "access_expires_at": fresh.expires_at,
            "updated_at": utcnow(),
        }
        if fresh.client_endpoint:
            values["client_endpoint"] = fresh.client_endpoint
        async with self.sessions() as session:
            await session.execute(
                update(Portal)
                .where(col(Portal.id) == self.portal_id, col(Portal.refresh_token) == used)
                .values(values)
            )
            portal = await self._released(session, claim)
        log.info("tokens refreshed %s", fields(portal=portal.member_id))
        return token_pair(portal)

    async def _refused(self, claim: str, used: str, exc: OAuthError) -> TokenPair | None:
        """Record a revoked grant on the portal; the stored pair if someone replaced ours."""
        TOKEN_REFRESHES.labels("refused").inc()
        reason = f"Bitrix24 refused to refresh the tokens: {exc}"
        async with self.sessions() as session:
            if exc.revoked:
                await session.execute(
                    update(Portal)
                    .where(col(Portal.id) == self.portal_id, col(Portal.refresh_token) == used)
                    .values(auth_error=reason[: max_length(Portal.auth_error)], updated_at=utcnow())
                )
            portal = await self._released(session, claim)
        if portal.refresh_token != used:
            return token_pair(portal)  # an install stored a new pair meanwhile
        if exc.revoked:
            log.error("portal not authorized %s", fields(portal=portal.member_id, reason=reason))
        return None

    async def _release(self, claim: str) -> None:
        async with self.sessions() as session:
            await self._released(session, claim)

    async def _released(self, session: AsyncSession, claim: str) -> Portal:
        """Give the lease back (if still ours) and commit; the row as it is now."""
        await session.execute(
            update(Portal)
            .where(col(Portal.id) == self.portal_id, col(Portal.refresh_claimed_by) == claim)
            .values(refresh_claimed_by=None, refresh_lease_until=None)
        )
        portal = (
            await session.execute(select(Portal).where(col(Portal.id) == self.portal_id))
        ).scalar_one()
        await session.commit()
        return portal
