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
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from clients.bitrix24.client import MAX_BATCH, Bitrix24Client
from clients.bitrix24.errors import Bitrix24Error, OAuthError
from models import Portal
from smsbridge import metrics
from smsbridge.config import Settings
from smsbridge.logs import fields
from smsbridge.policy import timeline
from smsbridge.portals.client import portal_client
from smsbridge.portals.tokens import PortalNotAuthorized
from smsbridge.sent_flag import flag as sent_flag
from webhook import push_queue
from webhook.push_queue import NOT_FOUND, PendingPush
from webhook.workers import Workers

log = logging.getLogger("smsbridge.pusher")

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

    async def run_once(self) -> int:
        lease = timedelta(seconds=self.options.lease)
        async with self.sessions() as session:
            portal = await push_queue.claim_portal(session, self.worker, lease)
        if portal is None or portal.id is None:
            return 0
        client = portal_client(self.sessions, self.settings, self.http, portal.id, sleep=self.nap)
        handled = 0
        try:
            while not self.stopping:
                async with self.sessions() as session:
                    batch = await push_queue.pending(session, portal.id, MAX_BATCH)
                if not batch:
                    break
                handled += await self._push(client, portal, batch)
                async with self.sessions() as session:
                    if not await push_queue.extend_lease(session, portal.id, self.worker, lease):
                        break
            handled += await self._write_flags(client, portal)
            handled += await self._write_comments(client, portal)
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
        accepted = []
        failures = []
        for push in batch:
            error = answer.failure(str(push.pk))
            if error is None:
                accepted.append(push)
            else:
                failures.append((push, f"Bitrix24: {error}", error.code != NOT_FOUND))
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
            writes = await sent_flag.due(session, portal.id, MAX_BATCH, backfill=False)
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

    async def _write_comments(self, client: Bitrix24Client, portal: Portal) -> int:
        """Why each refused message of this portal was refused, on its CRM item's timeline."""
        assert portal.id is not None
        async with self.sessions() as session:
            comments = await timeline.due(session, portal.id, MAX_BATCH)
        if not comments:
            return 0
        try:
            refused = await timeline.write(client, comments)
        except (PortalNotAuthorized, OAuthError) as exc:
            await self._not_authorized(portal, exc)
            raise _PortalBlocked from exc
        async with self.sessions() as session:
            await timeline.record(session, comments)
        for comment, reason in refused:
            log.warning(
                "timeline comment not written %s",
                fields(
                    portal=portal.member_id,
                    entity=f"{comment.entity_type}/{comment.entity_id}",
                    reason=reason,
                ),
            )
        return len(comments)

    async def _reschedule(
        self, portal: Portal, failures: list[tuple[PendingPush, str, bool]]
    ) -> None:
        async with self.sessions() as session:
            given_up = await push_queue.mark_failed(
                session, failures, self.options.backoff, self.options.backoff_cap
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
        """Without valid tokens nothing can be pushed. The portal's row already says why (the
        token source recorded Bitrix24's refusal), and the claim skips it until a new install."""
        if isinstance(exc, OAuthError) and not exc.revoked:
            return  # a passing OAuth failure: the next round tries again
        log.error(
            "portal not authorized; statuses wait %s",
            fields(portal=portal.member_id, reason=str(exc)),
        )
