"""Checking a broadcast before it goes out: which numbers would fail, and what it would cost.

The free checks come first: the number must parse, be a mobile, appear once and not be on our stop
list. Only what passes is priced at SMS.ru's `/sms/cost`, 100 numbers a call and a few calls at
once, so 1,000 numbers take at most 10 calls; SMS.ru's refusals of single numbers join the invalid
list with their code. A refusal of the whole request (bad key, no money) says nothing about the
numbers, so it fails the check instead. Nothing is ever sent.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from clients.backoff import backoff
from clients.smsru.client import CALLS_AT_ONCE, MAX_PER_REQUEST, SmsRuClient
from clients.smsru.codes import Outcome, classify, meaning
from clients.smsru.errors import SmsRuApiError, SmsRuUnavailable
from clients.smsru.replies import CostReply, NumberResult
from models import StopListEntry
from smsbridge.broadcast.recipients import Recipient
from smsbridge.progress import ProgressCallback
from smsbridge.rules.phones import PhoneError, is_mobile, smsru_number, to_e164
from smsbridge.rules.segments import Measure, check_text, measure

ATTEMPTS = 3  # a cost call is read-only, so an unanswered one is safe to repeat
RETRY_DELAY = 1.0  # seconds, doubled after each attempt
STOP_LIST_CHUNK = 500  # phones per stop-list query

NOT_MOBILE = "not a mobile number"
DUPLICATE = "duplicate"
STOP_LISTED = "on the stop list"
NOT_PRICED = "SMS.ru did not price this number"


class BroadcastCheckFailed(Exception):
    """SMS.ru refused or never answered a cost request as a whole: no number can be judged."""


@dataclass(frozen=True, slots=True)
class Valid:
    recipient: Recipient
    e164: str
    cost: Decimal
    segments: int  # as SMS.ru counts them for this number


@dataclass(frozen=True, slots=True)
class Invalid:
    recipient: Recipient
    reason: str  # what the numbers are counted by
    detail: str = ""  # which earlier row it repeats, why it is on the stop list …
    e164: str | None = None


@dataclass(frozen=True, slots=True)
class BroadcastCheck:
    measure: Measure  # of the text, by our own count
    valid: list[Valid]  # both in the order of the recipients
    invalid: list[Invalid]
    cost_calls: int  # /sms/cost requests made, retries included

    @property
    def total_cost(self) -> Decimal:
        return sum((v.cost for v in self.valid), Decimal(0))

    @property
    def segment_mismatches(self) -> int:
        """Numbers for which SMS.ru counts a different number of parts than we do."""
        return sum(1 for v in self.valid if v.segments != self.measure.segments)

    def invalid_by_reason(self) -> dict[str, int]:
        return dict(Counter(i.reason for i in self.invalid).most_common())

    def summary(self) -> dict[str, Any]:
        """JSON-able figures (money as a string, so it stays exact)."""
        return {
            "recipients": len(self.valid) + len(self.invalid),
            "valid": len(self.valid),
            "invalid": len(self.invalid),
            "invalid_by_reason": self.invalid_by_reason(),
            "encoding": self.measure.encoding,
            "segments": self.measure.segments,
            "segment_mismatches": self.segment_mismatches,
            "total_cost": str(self.total_cost),
            "cost_calls": self.cost_calls,
        }


def measure_text(text: str) -> Measure:
    """The text's encoding and parts; a text SMS.ru would refuse for every number is an error."""
    measured = measure(text)
    problem = check_text(text, measured)
    if problem is not None:
        raise ValueError(str(problem))
    return measured


async def check_broadcast(
    recipients: Sequence[Recipient],
    text: str,
    *,
    sessions: async_sessionmaker[AsyncSession],
    smsru: SmsRuClient,
    sender: str | None = None,
    on_progress: ProgressCallback | None = None,
    calls_at_once: int = CALLS_AT_ONCE,
    retry_delay: float = RETRY_DELAY,
) -> BroadcastCheck:
    measured = measure_text(text)
    invalid: dict[int, Invalid] = {}
    candidates: dict[int, str] = {}  # recipient's index → E.164
    first_seen: dict[str, str] = {}  # E.164 → where it was first seen
    for index, recipient in enumerate(recipients):
        verdict = _local_check(recipient, first_seen)
        if isinstance(verdict, Invalid):
            invalid[index] = verdict
        else:
            candidates[index] = verdict

    stopped = await stop_listed(sessions, candidates.values())
    for index, e164 in list(candidates.items()):
        if e164 in stopped:
            invalid[index] = Invalid(recipients[index], STOP_LISTED, stopped[e164], e164)
            del candidates[index]

    pricing = _Pricing(smsru, text, sender, calls_at_once, retry_delay, on_progress)
    priced = await pricing.run(list(candidates.values()))
    valid: dict[int, Valid] = {}
    for index, e164 in candidates.items():
        result = priced.get(smsru_number(e164))
        if result is not None and result.ok:
            cost = result.cost if result.cost is not None else Decimal(0)
            segments = result.segments or measured.segments
            valid[index] = Valid(recipients[index], e164, cost, segments)
        else:
            reason = NOT_PRICED if result is None else _smsru_reason(result.status_code)
            invalid[index] = Invalid(recipients[index], reason, e164=e164)
    return BroadcastCheck(
        measure=measured,
        valid=[valid[i] for i in sorted(valid)],
        invalid=[invalid[i] for i in sorted(invalid)],
        cost_calls=pricing.calls,
    )


def _local_check(recipient: Recipient, first_seen: dict[str, str]) -> str | Invalid:
    """The number in E.164, or why it cannot be sent to; `first_seen` learns each new number."""
    try:
        e164 = to_e164(recipient.phone)
    except PhoneError as exc:
        return Invalid(recipient, exc.reason)
    if not is_mobile(e164):
        return Invalid(recipient, NOT_MOBILE, e164=e164)
    if e164 in first_seen:
        return Invalid(recipient, DUPLICATE, f"same number as {first_seen[e164]}", e164)
    first_seen[e164] = recipient.where
    return e164


async def stop_listed(
    sessions: async_sessionmaker[AsyncSession], phones: Collection[str]
) -> dict[str, str]:
    """Which of the E.164 numbers are on our stop list, with the reason recorded there."""
    ordered = sorted(set(phones))
    found: dict[str, str] = {}
    async with sessions() as session:
        for start in range(0, len(ordered), STOP_LIST_CHUNK):
            chunk = ordered[start : start + STOP_LIST_CHUNK]
            rows = await session.exec(
                select(StopListEntry.phone, StopListEntry.reason).where(
                    col(StopListEntry.phone).in_(chunk)
                )
            )
            found.update((phone, reason) for phone, reason in rows)
    return found


def _smsru_reason(code: int) -> str:
    return f"SMS.ru {code}: {meaning(code)}"


class _Pricing:
    """The cost calls of one check: ≤100 numbers each, at most `calls_at_once` in flight."""

    def __init__(
        self,
        smsru: SmsRuClient,
        text: str,
        sender: str | None,
        calls_at_once: int,
        retry_delay: float,
        on_progress: ProgressCallback | None,
    ) -> None:
        self._smsru = smsru
        self._text = text
        self._sender = sender
        self._gate = asyncio.Semaphore(calls_at_once)
        self._retry_delay = retry_delay
        self._on_progress = on_progress
        self._results: dict[str, NumberResult] = {}
        self._done = 0
        self._reporting = asyncio.Lock()
        self.calls = 0

    async def run(self, numbers: list[str]) -> dict[str, NumberResult]:
        """SMS.ru's answer for each number, keyed by its digits."""
        if not numbers:
            return {}
        digits = [smsru_number(e164) for e164 in numbers]
        chunks = [
            digits[start : start + MAX_PER_REQUEST]
            for start in range(0, len(digits), MAX_PER_REQUEST)
        ]
        await self._report(len(chunks))
        try:
            async with asyncio.TaskGroup() as group:
                for chunk in chunks:
                    group.create_task(self._price(chunk, len(chunks)))
        except* BroadcastCheckFailed as failed:  # the other calls were cancelled
            raise failed.exceptions[0] from None
        return self._results

    async def _price(self, chunk: list[str], total: int) -> None:
        async with self._gate:
            reply = await self._cost(chunk)
        for phone, result in reply.numbers.items():
            if classify(result.status_code) is Outcome.ACCOUNT_PROBLEM:
                raise BroadcastCheckFailed(
                    f"SMS.ru refused the numbers because of the account"
                    f" ({_smsru_reason(result.status_code)}); no number was validated"
                )
            self._results[phone] = result
        self._done += 1
        await self._report(total)

    async def _cost(self, chunk: list[str]) -> CostReply:
        attempt = 1
        while True:
            self.calls += 1
            try:
                return await self._smsru.cost(chunk, self._text, sender=self._sender)
            except SmsRuApiError as exc:
                if exc.outcome is not Outcome.RETRY_LATER:
                    raise BroadcastCheckFailed(
                        f"SMS.ru refused the cost request (error {exc.code}: {exc.text});"
                        " no number was validated"
                    ) from None
                if attempt == ATTEMPTS:
                    raise BroadcastCheckFailed(
                        f"SMS.ru answered error {exc.code} ({exc.text}) to {ATTEMPTS} attempts"
                        " at the cost request; no number was validated"
                    ) from None
            except SmsRuUnavailable as exc:
                if attempt == ATTEMPTS:
                    raise BroadcastCheckFailed(
                        f"SMS.ru did not answer the cost request in {ATTEMPTS} attempts"
                        f" ({exc.reason}); no number was validated"
                    ) from None
            await asyncio.sleep(backoff(attempt, self._retry_delay, math.inf))
            attempt += 1

    async def _report(self, total: int) -> None:
        """One report at a time, and never backwards: the count is read once the turn comes."""
        if self._on_progress is not None:
            async with self._reporting:
                await self._on_progress(self._done, total)
