"""The sender: outbox → SMS.ru, as background workers of the webhook app.

Each worker claims up to one call's worth of messages, sends them (one `/sms/send` per ≤100
distinct numbers), and records the verdict of every message. Transient trouble is retried with
capped exponential backoff; an account problem pauses the portal instead of failing its queue.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from clients.backoff import backoff
from clients.smsru.client import SmsRuClient
from clients.smsru.codes import Outcome, classify, is_known, meaning
from clients.smsru.errors import SmsRuApiError, SmsRuUnavailable
from clients.smsru.replies import SendReply
from clients.transport import timeouts
from models import Portal
from models.types import utcnow
from smsbridge import metrics
from smsbridge.config import Settings
from smsbridge.logs import fields
from smsbridge.policy import stop_list
from smsbridge.policy.daytime import Delivery, delivery_for
from smsbridge.policy.refusals import Refusal, refusals
from smsbridge.portals.smsru import (
    NoSmsRuKey,
    smsru_client_for,
    smsru_key,
    smsru_sender,
    smsru_test,
)
from smsbridge.secret import key_fingerprint
from smsbridge.status.failures import POLICY, Failure
from webhook import outbox
from webhook.outbox import Claimed, Verdict
from webhook.send_plan import MAX_NUMBERS_PER_CALL, plan_calls
from webhook.workers import Workers

log = logging.getLogger("smsbridge.sender")

SMSRU_STOP_LISTS = frozenset({209, 215})  # the account's stop list; SMS.ru's complaint list
# SMS.ru's refusals that have a policy meaning: the number opted out, or gets too many messages.
SMSRU_REFUSALS = {
    **dict.fromkeys(SMSRU_STOP_LISTS, Failure.STOP_LISTED),
    **dict.fromkeys((230, 231, 232), Failure.TOO_FREQUENT),
}


@dataclass(frozen=True)
class SenderOptions:
    workers: int = 4  # SMS.ru calls in flight at once, per replica (the transactional lane's)
    marketing_workers: int = 2  # the marketing lane's calls in flight, per replica
    lanes: bool = True  # False: one first-in-first-out queue for every kind (as before; benches)
    lease: float = 600.0  # seconds a claim lasts; far above the client's read timeout
    idle_poll: float = 1.0  # seconds an idle worker waits before looking again
    backoff_base: float = 2.0
    backoff_cap: float = 300.0
    give_up_after: float = 86_400.0  # a message SMS.ru could not take for a day is failed
    pause: float = 300.0  # how long a portal with an account problem waits before a probe
    read_timeout: float = 60.0  # how long to wait for SMS.ru's answer once the request is sent
    sweep_every: float = 10.0  # seconds between looks for sends a dead process cut off

    def http_timeout(self) -> httpx.Timeout:
        return timeouts(read=self.read_timeout)


class Sender(Workers):
    name = "sender"

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        http: httpx.AsyncClient,
        options: SenderOptions | None = None,
        *,
        lane: str | None = None,
        workers: int | None = None,
    ) -> None:
        self.options = options or SenderOptions()
        super().__init__(workers or self.options.workers, self.options.idle_poll)
        self.lane = lane  # the kind of message this sender claims; None: every kind
        self.sessions = sessions
        self.settings = settings
        self.http = http
        self._sweep_due = 0.0  # at once on start: a previous process may have died mid-send

    async def run_once(self) -> int:
        """Claim and send one batch; the number of messages claimed."""
        async with self.sessions() as session:
            if time.monotonic() >= self._sweep_due:  # not every round: it is an UPDATE
                self._sweep_due = time.monotonic() + self.options.sweep_every
                await self._fail_interrupted(session)
            lease = timedelta(seconds=self.options.lease)
            claimed = await outbox.claim(
                session, self.worker, MAX_NUMBERS_PER_CALL, lease, self.lane
            )
            if not claimed:
                return 0
            portal_ids = {message.portal_id for message in claimed}
            portals = {
                portal.id: portal
                for portal in (
                    await session.execute(select(Portal).where(col(Portal.id).in_(portal_ids)))
                ).scalars()
            }
        by_portal: dict[int, list[Claimed]] = defaultdict(list)
        for message in claimed:
            by_portal[message.portal_id].append(message)
        for portal_id, messages in by_portal.items():
            await self._send_for_portal(portals[portal_id], messages)
        return len(claimed)

    async def _fail_interrupted(self, session: AsyncSession) -> None:
        for pk, message_id, kind in await outbox.fail_uninstalled(session):
            metrics.FAILED.labels(kind, "uninstalled").inc()
            log.warning(
                "message failed %s",
                fields(message_pk=pk, message_id=message_id, reason=outbox.UNINSTALLED),
            )
        for pk, message_id, kind in await outbox.fail_interrupted(session):
            metrics.FAILED.labels(kind, "interrupted").inc()
            log.error(
                "message failed %s",
                fields(
                    message_pk=pk, message_id=message_id, reason="send interrupted, outcome unknown"
                ),
            )

    async def _send_for_portal(self, portal: Portal, messages: list[Claimed]) -> None:
        try:
            client = smsru_client_for(portal, self.settings, self.http)
        except NoSmsRuKey as exc:
            await self._pause(portal, messages, str(exc))
            return
        messages = await self._refuse(portal, messages)
        sender_name = smsru_sender(portal, self.settings)
        fingerprint = key_fingerprint(smsru_key(portal, self.settings) or "")
        calls = [
            call
            for kind in sorted({m.kind for m in messages})  # one call, one kind: one delivery
            for call in plan_calls([m for m in messages if m.kind == kind])
        ]
        for index, call in enumerate(calls):
            account = portal.member_id if portal.smsru_api_id else "SMSRU_API_ID"
            delivery = delivery_for(portal, call[0].kind)
            verdicts = await self._call(
                client, call, sender_name, account, delivery, smsru_test(portal, self.settings)
            )
            pause = next((v for _, v in verdicts if v.kind == "pause"), None)
            if pause is not None:
                rest = [message for later in calls[index + 1 :] for message in later]
                await self._pause(portal, call + rest, pause.reason or "account problem")
                return
            await self._record(portal, verdicts, fingerprint)

    async def _refuse(self, portal: Portal, messages: list[Claimed]) -> list[Claimed]:
        """Fail what the policy refuses (never reaching SMS.ru); the rest, to be sent."""
        async with self.sessions() as session:
            refused = await refusals(session, portal, messages)
        if not refused:
            return messages
        await self._record(
            portal,
            [(m, _refused(refused[m.pk], m, portal.language)) for m in messages if m.pk in refused],
        )
        return [m for m in messages if m.pk not in refused]

    async def _call(
        self,
        client: SmsRuClient,
        call: list[Claimed],
        sender_name: str | None,
        account: str,
        delivery: Delivery,
        test: bool,
    ) -> list[tuple[Claimed, Verdict]]:
        texts = {message.text for message in call}
        daytime, ttl = delivery.daytime, delivery.ttl
        started = time.perf_counter()
        try:
            if len(texts) == 1:
                reply = await client.send(
                    [m.number for m in call],
                    texts.pop(),
                    sender=sender_name,
                    test=test,
                    daytime=daytime,
                    ttl=ttl,
                )
            else:
                reply = await client.send_multi(
                    {m.number: m.text for m in call},
                    sender=sender_name,
                    test=test,
                    daytime=daytime,
                    ttl=ttl,
                )
        except SmsRuApiError as exc:
            return [
                (message, self._verdict_for_code(message, exc.code, exc.text, None, True))
                for message in call
            ]
        except SmsRuUnavailable as exc:
            if exc.maybe_processed:
                interrupted = f"{outbox.INTERRUPTED} ({exc.reason})"
                return [
                    (m, Verdict("failed", reason=interrupted, failure=Failure.INTERRUPTED))
                    for m in call
                ]
            return [(m, self._retry(m, exc.reason)) for m in call]
        finally:
            metrics.SEND_SECONDS.observe(time.perf_counter() - started)
        if reply.balance is not None:
            metrics.SMSRU_BALANCE.labels(account).set(float(reply.balance))
        return [(message, self._verdict_for_number(message, reply)) for message in call]

    def _verdict_for_number(self, message: Claimed, reply: SendReply) -> Verdict:
        result = reply.numbers.get(message.number)
        if result is None:
            return Verdict(
                "failed",
                reason="SMS.ru's reply has no result for this number; not resent",
                failure=Failure.NO_RESULT,
            )
        if result.ok and result.sms_id:
            return Verdict("sent", code=result.status_code, sms_id=result.sms_id)
        text = result.status_text or meaning(result.status_code)
        return self._verdict_for_code(message, result.status_code, text, result.sms_id, False)

    def _verdict_for_code(
        self, message: Claimed, code: int, text: str, sms_id: str | None, whole_request: bool
    ) -> Verdict:
        outcome = classify(code)
        reason = f"SMS.ru {code}: {text}"
        if outcome is Outcome.RETRY_LATER:
            return self._retry(message, reason)
        if outcome is Outcome.ACCOUNT_PROBLEM or (whole_request and not is_known(code)):
            return Verdict("pause", code=code, reason=reason)
        failure = SMSRU_REFUSALS.get(code, Failure.REFUSED)
        return Verdict("failed", code=code, sms_id=sms_id, reason=reason, failure=failure)

    def _retry(self, message: Claimed, reason: str) -> Verdict:
        now = utcnow()
        if (now - message.accepted_at).total_seconds() > self.options.give_up_after:
            return Verdict(
                "failed",
                reason=f"gave up: SMS.ru could not take it for too long ({reason})",
                failure=Failure.GAVE_UP,
            )
        options = self.options
        delay = backoff(message.attempts, options.backoff_base, options.backoff_cap, jitter=0.2)
        return Verdict("retry", reason=reason, not_before=now + timedelta(seconds=delay))

    async def _record(
        self,
        portal: Portal,
        verdicts: list[tuple[Claimed, Verdict]],
        smsru_key: str | None = None,  # the fingerprint of the key the send used
    ) -> None:
        assert portal.id is not None
        opted_out = {
            m.e164: v.reason or ""
            for m, v in verdicts
            if v.failure is Failure.STOP_LISTED and v.code in SMSRU_STOP_LISTS
        }
        async with self.sessions() as session:
            await outbox.record(session, self.worker, verdicts, smsru_key)
            for phone, reason in opted_out.items():  # SMS.ru said so: never try marketing again
                await stop_list.add(session, portal.id, phone, reason, "smsru")
            sent = any(verdict.kind == "sent" for _, verdict in verdicts)
            resumed = sent and bool(portal.pause_reason)
            resumed = resumed and await outbox.resume_portal(session, portal.id)
            await session.commit()
        if resumed:
            log.warning("portal resumed %s", fields(portal=portal.member_id))
        counts: dict[str, int] = defaultdict(int)
        for message, verdict in verdicts:
            counts[verdict.kind] += 1
            if verdict.kind == "sent":
                metrics.SENT.labels(message.kind).inc()
            elif verdict.kind == "failed":
                metrics.FAILED.labels(message.kind, "send").inc()
                if verdict.failure in POLICY:
                    metrics.REFUSED.labels(message.kind, str(verdict.failure)).inc()
                log.warning(
                    "message failed %s",
                    fields(
                        portal=portal.member_id,
                        message_id=message.message_id,
                        code=verdict.code,
                        reason=verdict.reason,
                    ),
                )
            elif verdict.kind == "retry":
                log.info(
                    "message send deferred %s",
                    fields(
                        portal=portal.member_id,
                        message_id=message.message_id,
                        until=_iso(verdict.not_before),
                        reason=verdict.reason,
                    ),
                )
        log.info("sent batch %s", fields(portal=portal.member_id, **counts))

    async def _pause(self, portal: Portal, messages: list[Claimed], reason: str) -> None:
        assert portal.id is not None
        until = utcnow() + timedelta(seconds=self.options.pause)
        verdicts = [(m, Verdict("pause", reason=reason, not_before=until)) for m in messages]
        async with self.sessions() as session:
            await outbox.record(session, self.worker, verdicts)
            first = await outbox.pause_portal(session, portal.id, until, reason)
            await session.commit()
        log.log(
            logging.ERROR if first else logging.INFO,
            "portal paused %s",
            fields(portal=portal.member_id, until=_iso(until), queued=len(messages), reason=reason),
        )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


def _refused(refusal: Refusal, message: Claimed, language: str) -> Verdict:
    return Verdict(
        "failed",
        reason=refusal.reason.en,
        failure=refusal.failure,
        comment=refusal.comment(message.e164, language),
    )
