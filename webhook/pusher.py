"""The status pusher: final statuses → Bitrix24, 50 `status.update` calls per `batch` request.

Bitrix24 allows ~2 requests/s per portal; one `batch` carries 50 updates, so a portal's statuses
flow at up to ~100/s instead of 2/s. The pusher leases a portal, drains its pending pushes in
batches paced by the portal's shared rate limiter, and gives the lease back.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from clients.bitrix24.client import Bitrix24Client
from clients.bitrix24.errors import Bitrix24Error, OAuthError
from models import Portal
from smsbridge import metrics, sent_flag
from smsbridge.config import Settings
from smsbridge.logs import fields
from smsbridge.portal_client import portal_client
from smsbridge.portal_tokens import PortalNotAuthorized
from webhook import push_queue
from webhook.push_queue import NOT_FOUND, PendingPush
from webhook.workers import Workers

log = logging.getLogger("smsbridge.pusher")

BATCH = 50
STATUS_UPDATE = "messageservice.message.status.update"


@dataclass(frozen=True)
class PusherOptions:
    workers: int = 2  # portals pushed for at once, per replica
    lease: float = 60.0  # seconds a portal lease lasts; renewed after every batch
    idle_poll: float = 0.5
    backoff: float = 5.0  # first retry delay of a failed push; doubles, up to the cap
    backoff_cap: float = 600.0


class _PortalBlocked(Exception):
    """Stop pushing for this portal for now: its pushes were rescheduled, or it lacks tokens."""


class Pusher(Workers):
    name = "pusher"

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        http: httpx.AsyncClient,
        options: PusherOptions | None = None,
    ) -> None:
        self.options = options or PusherOptions()
        super().__init__(self.options.workers, self.options.idle_poll)
        self.sessions = sessions
        self.settings = settings
        self.http = http
        self.pushed = 0  # statuses Bitrix24 accepted, for metrics and benchmarks

    async def run_once(self) -> int:
        lease = timedelta(seconds=self.options.lease)
        async with self.sessions() as session:
            portal = await push_queue.claim_portal(session, self.worker, lease)
        if portal is None or portal.id is None:
            return 0
        client = portal_client(self.sessions, self.settings, self.http, portal.id)
        handled = 0
        try:
            while not self.stopping:
                async with self.sessions() as session:
                    batch = await push_queue.pending(session, portal.id, BATCH)
                if not batch:
                    break
                handled += await self._push(client, portal, batch)
                async with self.sessions() as session:
                    if not await push_queue.extend_lease(session, portal.id, self.worker, lease):
                        break
            handled += await self._write_flags(client, portal)
        except _PortalBlocked:
            pass
        finally:
            async with self.sessions() as session:
                await push_queue.release_portal(session, portal.id, self.worker)
        return handled

    async def _push(self, client: Bitrix24Client, portal: Portal, batch: list[PendingPush]) -> int:
        calls = {
            str(push.pk): (
                STATUS_UPDATE,
                {"CODE": push.provider_code, "MESSAGE_ID": push.message_id, "STATUS": push.status},
            )
            for push in batch
        }
        started = time.perf_counter()
        try:
            answer = await client.batch(calls)
        except (PortalNotAuthorized, OAuthError) as exc:
            await self._not_authorized(portal, exc)
            raise _PortalBlocked from exc
        except Bitrix24Error as exc:
            await self._reschedule(portal, [(push, f"Bitrix24: {exc}", True) for push in batch])
            raise _PortalBlocked from exc
        finally:
            metrics.PUSH_SECONDS.observe(time.perf_counter() - started)
        accepted = [push for push in batch if str(push.pk) in answer.results]
        failures = []
        for push in batch:
            key = str(push.pk)
            if key in answer.results:
                continue
            error = answer.errors.get(key)
            if error is None:
                failures.append((push, "Bitrix24's batch answer has no result for it", True))
            else:
                failures.append((push, f"Bitrix24: {error}", error.code != NOT_FOUND))
        self.pushed += len(accepted)
        metrics.STATUSES_PUSHED.inc(len(accepted))  # Bitrix24 has them, whatever happens next
        async with self.sessions() as session:
            await push_queue.mark_pushed(session, accepted)
        if failures:
            await self._reschedule(portal, failures)
        log.info(
            "pushed statuses %s",
            fields(portal=portal.member_id, accepted=len(accepted), failed=len(failures) or None),
        )
        return len(batch)

    async def _write_flags(self, client: Bitrix24Client, portal: Portal) -> int:
        """The sent flags of this portal's accepted robot messages (after its statuses)."""
        assert portal.id is not None
        async with self.sessions() as session:
            writes = await sent_flag.due(session, portal.id, sent_flag.BATCH, backfill=False)
        if not writes:
            return 0
        try:
            done, refused = await sent_flag.write(client, writes)
        except (PortalNotAuthorized, OAuthError) as exc:
            await self._not_authorized(portal, exc)
            raise _PortalBlocked from exc
        async with self.sessions() as session:
            await sent_flag.record(session, done, refused)
        for write, reason in refused:
            log.warning(
                "sent flag not written %s",
                fields(
                    portal=portal.member_id,
                    entity=f"{write.entity_type}/{write.entity_id}",
                    reason=reason,
                ),
            )
        log.info("sent flags written %s", fields(portal=portal.member_id, written=len(done)))
        return len(writes)

    async def _reschedule(
        self, portal: Portal, failures: list[tuple[PendingPush, str, bool]]
    ) -> None:
        async with self.sessions() as session:
            given_up = await push_queue.mark_failed(
                session,
                failures,
                timedelta(seconds=self.options.backoff),
                timedelta(seconds=self.options.backoff_cap),
            )
        for push, reason, _ in failures:
            level = logging.WARNING if push in given_up else logging.INFO
            log.log(
                level,
                "status push %s %s",
                "given up" if push in given_up else "deferred",
                fields(
                    portal=portal.member_id,
                    message_id=push.message_id,
                    status=push.status,
                    reason=reason,
                ),
            )

    async def _not_authorized(self, portal: Portal, exc: Exception) -> None:
        """Without valid tokens nothing can be pushed: say so once, on the portal, and wait."""
        reason = str(exc)
        if isinstance(exc, OAuthError) and not exc.revoked:
            return  # a passing OAuth failure: the next round tries again
        async with self.sessions() as session:
            await session.execute(
                update(Portal)
                .where(col(Portal.id) == portal.id, col(Portal.auth_error).is_(None))
                .values(auth_error=reason[:500])
            )
            await session.commit()
        log.error(
            "portal not authorized; statuses wait %s",
            fields(portal=portal.member_id, reason=reason),
        )
