"""The sender: outbox → SMS.ru, as background workers of the webhook app.

Each worker claims up to one call's worth of messages, sends them (one `/sms/send` per ≤100
distinct numbers), and records the verdict of every message. Transient trouble is retried with
capped exponential backoff; an account problem pauses the portal instead of failing its queue.
"""

from __future__ import annotations

import logging
import random
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from clients.smsru.client import SmsRuClient
from clients.smsru.codes import Outcome, classify, is_known, meaning
from clients.smsru.errors import SmsRuApiError, SmsRuUnavailable
from clients.smsru.replies import SendReply
from models import Portal
from models.types import utcnow
from smsbridge import metrics
from smsbridge.config import Settings
from smsbridge.logs import fields, register_secret
from webhook import outbox
from webhook.outbox import Verdict
from webhook.send_plan import MAX_NUMBERS_PER_CALL, Claimed, plan_calls
from webhook.workers import Workers

log = logging.getLogger("smsbridge.sender")


@dataclass(frozen=True)
class SenderOptions:
    workers: int = 4  # SMS.ru calls in flight at once, per replica
    lease: float = 600.0  # seconds a claim lasts; far above the client's read timeout
    idle_poll: float = 1.0  # seconds an idle worker waits before looking again
    backoff_base: float = 2.0
    backoff_cap: float = 300.0
    give_up_after: float = 86_400.0  # a message SMS.ru could not take for a day is failed
    pause: float = 300.0  # how long a portal with an account problem waits before a probe
    read_timeout: float = 60.0  # how long to wait for SMS.ru's answer once the request is sent
    sweep_every: float = 10.0  # seconds between looks for sends a dead process cut off

    def http_timeout(self) -> httpx.Timeout:
        return httpx.Timeout(connect=5.0, read=self.read_timeout, write=10.0, pool=5.0)


class Sender(Workers):
    name = "sender"

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        http: httpx.AsyncClient,
        options: SenderOptions | None = None,
    ) -> None:
        self.options = options or SenderOptions()
        super().__init__(self.options.workers, self.options.idle_poll)
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
            claimed = await outbox.claim(
                session, self.worker, MAX_NUMBERS_PER_CALL, timedelta(seconds=self.options.lease)
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
        for pk, message_id, kind in await outbox.fail_interrupted(session):
            metrics.FAILED.labels(kind, "interrupted").inc()
            log.error(
                "message failed %s",
                fields(
                    message_pk=pk, message_id=message_id, reason="send interrupted, outcome unknown"
                ),
            )

    async def _send_for_portal(self, portal: Portal, messages: list[Claimed]) -> None:
        api_id = portal.smsru_api_id or self.settings.smsru_key
        if not api_id:
            await self._pause(
                portal, messages, "no SMS.ru key: set SMSRU_API_ID or the portal's key"
            )
            return
        register_secret(api_id)
        client = SmsRuClient(api_id, base_url=self.settings.smsru_base, http=self.http)
        sender_name = portal.smsru_sender or self.settings.smsru_sender
        calls = plan_calls(messages)
        for index, call in enumerate(calls):
            account = portal.member_id if portal.smsru_api_id else "SMSRU_API_ID"
            verdicts = await self._call(client, call, sender_name, account)
            pause = next((v for _, v in verdicts if v.kind == "pause"), None)
            if pause is not None:
                rest = [message for later in calls[index + 1 :] for message in later]
                await self._pause(portal, call + rest, pause.reason or "account problem")
                return
            await self._record(portal, verdicts)

    async def _call(
        self, client: SmsRuClient, call: list[Claimed], sender_name: str | None, account: str
    ) -> list[tuple[Claimed, Verdict]]:
        texts = {message.text for message in call}
        test = self.settings.smsru_test
        started = time.perf_counter()
        try:
            if len(texts) == 1:
                reply = await client.send(
                    [m.number for m in call], texts.pop(), sender=sender_name, test=test
                )
            else:
                reply = await client.send_multi(
                    {m.number: m.text for m in call}, sender=sender_name, test=test
                )
        except SmsRuApiError as exc:
            return [
                (message, self._verdict_for_code(message, exc.code, exc.text, None, True))
                for message in call
            ]
        except SmsRuUnavailable as exc:
            if exc.maybe_processed:
                return [
                    (m, Verdict("failed", reason=f"{outbox.INTERRUPTED} ({exc.reason})"))
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
                "failed", reason="SMS.ru's reply has no result for this number; not resent"
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
        return Verdict("failed", code=code, sms_id=sms_id, reason=reason)

    def _retry(self, message: Claimed, reason: str) -> Verdict:
        now = utcnow()
        if (now - message.accepted_at).total_seconds() > self.options.give_up_after:
            return Verdict(
                "failed", reason=f"gave up: SMS.ru could not take it for too long ({reason})"
            )
        delay = min(
            self.options.backoff_cap, self.options.backoff_base * 2 ** (message.attempts - 1)
        )
        delay *= random.uniform(0.8, 1.2)
        return Verdict("retry", reason=reason, not_before=now + timedelta(seconds=delay))

    async def _record(self, portal: Portal, verdicts: list[tuple[Claimed, Verdict]]) -> None:
        assert portal.id is not None
        async with self.sessions() as session:
            await outbox.record(session, self.worker, verdicts)
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
