"""The broadcast check against the SMS.ru emulator and the real database: reasons, cost, calls."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from support import SMSRU_KEY

from clients.smsru.client import SmsRuClient
from clients.smsru.codes import meaning
from clients.smsru.replies import CostReply
from models import StopListEntry
from sandbox.server import free_port
from sandbox.smsru import SmsRuEmulator
from smsbridge.broadcast.check import BroadcastCheck, BroadcastCheckFailed, check_broadcast
from smsbridge.broadcast.recipients import Recipient
from smsbridge.config import Settings
from smsbridge.runtime import runtime

TEXT = "Скидка 20% на всё до воскресенья!"  # Cyrillic: UCS-2, one part


def recipients(*phones: str) -> list[Recipient]:
    return [Recipient(phone, f"line {n}", {}) for n, phone in enumerate(phones, 1)]


def check(
    settings: Settings,
    people: Sequence[Recipient],
    text: str = TEXT,
    client: type[SmsRuClient] = SmsRuClient,
    **options: Any,
) -> BroadcastCheck:
    async def run() -> BroadcastCheck:
        async with runtime(settings) as rt:
            smsru = client(SMSRU_KEY, base_url=settings.smsru_base, http=rt.http)
            return await check_broadcast(people, text, sessions=rt.sessions, smsru=smsru, **options)

    return asyncio.run(run())


def stop(engine: Engine, phone: str, reason: str) -> None:
    with Session(engine) as session:
        session.add(StopListEntry(phone=phone, reason=reason))
        session.commit()


def cost_calls(smsru: SmsRuEmulator) -> list[dict[str, str]]:
    assert not [r for r in smsru.requests if r.path == "/sms/send"]  # never, whatever happens
    return [r.params for r in smsru.requests if r.path == "/sms/cost"]


def test_each_kind_of_bad_number_gets_its_reason(
    settings: Settings, smsru: SmsRuEmulator, engine: Engine
) -> None:
    stop(engine, "+79161112233", "отписался 2026-10-01")
    smsru.set_number_error("79031112233", 207)
    people = recipients(
        "+7 925 507-06-02",
        "abc",
        "12345",
        "+7 495 123-45-67",  # a Moscow landline
        "89255070602",  # line 1 again, written another way
        "+79161112233",
        "+79031112233",
        "+1 202 555 0143",  # US plans do not tell mobiles apart: given the benefit of the doubt
        "8 926 111-22-33",
    )

    result = check(settings, people)

    assert [(i.recipient.where, i.reason, i.detail, i.e164) for i in result.invalid] == [
        ("line 2", "not a phone number", "", None),
        ("line 3", "not a valid phone number", "", None),
        ("line 4", "not a mobile number", "", "+74951234567"),
        ("line 5", "duplicate", "same number as line 1", "+79255070602"),
        ("line 6", "on the stop list", "отписался 2026-10-01", "+79161112233"),
        ("line 7", f"SMS.ru 207: {meaning(207)}", "", "+79031112233"),
    ]
    assert [(v.recipient.where, v.e164, v.cost, v.segments) for v in result.valid] == [
        ("line 1", "+79255070602", Decimal("3.49"), 1),
        ("line 8", "+12025550143", Decimal("9.9"), 1),
        ("line 9", "+79261112233", Decimal("3.49"), 1),
    ]
    assert result.total_cost == Decimal("16.88")
    [call] = cost_calls(smsru)  # only what passed the local checks is asked about
    assert sorted(call["to"].split(",")) == [
        "12025550143",
        "79031112233",
        "79255070602",
        "79261112233",
    ]
    summary = result.summary()
    assert json.loads(json.dumps(summary)) == summary
    assert summary | {"invalid_by_reason": None} == {
        "recipients": 9,
        "valid": 3,
        "invalid": 6,
        "invalid_by_reason": None,
        "encoding": "ucs2",
        "segments": 1,
        "segment_mismatches": 0,
        "total_cost": "16.88",
        "cost_calls": 1,
    }
    assert sum(summary["invalid_by_reason"].values()) == 6


def test_a_long_text_costs_each_part(settings: Settings, smsru: SmsRuEmulator) -> None:
    text = "Hello! " * 30  # 210 GSM-7 characters: two parts

    result = check(settings, recipients("+79255070602"), text)

    assert (result.measure.encoding, result.measure.segments) == ("gsm7", 2)
    assert [(v.cost, v.segments) for v in result.valid] == [(Decimal("6.98"), 2)]


@pytest.mark.parametrize(
    ("text", "problem"), [(" ", "the text is empty"), ("Я" * 600, "the text needs 9 SMS")]
)
def test_a_text_sms_ru_would_refuse_is_refused_before_any_call(
    settings: Settings, smsru: SmsRuEmulator, text: str, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        check(settings, recipients("+79255070602"), text)
    assert cost_calls(smsru) == []


@pytest.mark.parametrize("code", [200, 201])
def test_a_refused_request_fails_the_check_instead_of_every_number(
    settings: Settings, smsru: SmsRuEmulator, code: int
) -> None:
    smsru.set_top_level_error(code)

    with pytest.raises(BroadcastCheckFailed, match=f"error {code}: ") as failed:
        check(settings, recipients(*(f"+7916{n:07d}" for n in range(250))))

    assert meaning(code) in str(failed.value)
    assert "no number was validated" in str(failed.value)
    assert 1 <= len(cost_calls(smsru)) <= 3


def test_a_number_refused_for_the_account_fails_the_check(
    settings: Settings, smsru: SmsRuEmulator
) -> None:
    smsru.set_number_error("79255070602", 221)  # no approved sender: true of every number

    with pytest.raises(BroadcastCheckFailed, match=r"because of the account.*SMS\.ru 221"):
        check(settings, recipients("+79255070602", "+79261112233"))


def test_an_unanswered_call_is_asked_again(settings: Settings, smsru: SmsRuEmulator) -> None:
    smsru.set_outage("http500", remaining=1)

    result = check(settings, recipients("+79255070602"), retry_delay=0.01)

    assert [v.e164 for v in result.valid] == ["+79255070602"]
    assert result.cost_calls == len(cost_calls(smsru)) == 2


def test_sms_ru_busy_fails_the_check_after_three_attempts(
    settings: Settings, smsru: SmsRuEmulator
) -> None:
    smsru.set_outage("220")

    with pytest.raises(BroadcastCheckFailed, match=r"error 220 .* to 3 attempts"):
        check(settings, recipients("+79255070602"), retry_delay=0.01)
    assert len(cost_calls(smsru)) == 3


def test_sms_ru_unreachable_fails_the_check_after_three_attempts(settings: Settings) -> None:
    nowhere = settings.model_copy(update={"smsru_api_url": f"http://127.0.0.1:{free_port()}"})

    with pytest.raises(BroadcastCheckFailed, match="did not answer the cost request in 3"):
        check(nowhere, recipients("+79255070602"), retry_delay=0.01)


class Gauge(SmsRuClient):
    """The real client, counting the cost calls in flight at once."""

    in_flight = 0
    most = 0

    async def cost(self, to: Sequence[str], text: str, **options: Any) -> CostReply:
        Gauge.in_flight += 1
        Gauge.most = max(Gauge.most, Gauge.in_flight)
        try:
            return await super().cost(to, text, **options)
        finally:
            Gauge.in_flight -= 1


def test_calls_of_100_numbers_run_a_few_at_once(settings: Settings, smsru: SmsRuEmulator) -> None:
    smsru.latency = 0.2
    Gauge.most = 0
    seen: list[tuple[int, int]] = []

    async def progress(done: int, total: int) -> None:
        seen.append((done, total))

    people = recipients(*(f"+7916{n:07d}" for n in range(250)))
    result = check(settings, people, client=Gauge, calls_at_once=2, on_progress=progress)

    assert len(result.valid) == 250
    assert [len(call["to"].split(",")) for call in cost_calls(smsru)] == [100, 100, 50]
    assert Gauge.most == 2
    assert seen == [(0, 3), (1, 3), (2, 3), (3, 3)]
