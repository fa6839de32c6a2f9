"""Lenient parsing of SMS.ru replies: loose types, optional keys, top-level errors."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from typing import Any

import pytest
from support import RECORDED as RECORDINGS_ROOT

from clients.smsru.codes import Outcome
from clients.smsru.errors import SmsRuApiError
from clients.smsru.replies import (
    NumberResult,
    SendReply,
    check_reply,
    digits,
    parse_balance,
    parse_cost,
    parse_free,
    parse_limit,
    parse_send,
    parse_status,
    parse_strings,
    to_decimal,
    to_int,
)

RECORDED = RECORDINGS_ROOT / "smsru"


def ok(**fields: Any) -> dict[str, Any]:
    return {"status": "OK", "status_code": 100, **fields}


def recorded_body(name: str, index: int = 0) -> dict[str, Any]:
    data = json.loads((RECORDED / name).read_text(encoding="utf-8"))
    body: dict[str, Any] = json.loads(data["interactions"][index]["response"]["body_text"])
    return body


# --- check_reply ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        ok(),
        {"status_code": 100},  # no status: code 100 is success
        {"status": "OK", "status_code": "100"},
        {"status": "OK", "status_code": 101},  # status decides when present
    ],
)
def test_check_reply_accepts(data: dict[str, Any]) -> None:
    check_reply(data)


def test_check_reply_raises_with_text() -> None:
    with pytest.raises(SmsRuApiError) as caught:
        check_reply({"status": "ERROR", "status_code": 200, "status_text": "Неправильный api_id"})
    assert (caught.value.code, caught.value.text) == (200, "Неправильный api_id")
    assert caught.value.outcome is Outcome.ACCOUNT_PROBLEM


def test_check_reply_without_status_and_bad_code() -> None:
    with pytest.raises(SmsRuApiError) as caught:
        check_reply({"status_code": "220"})
    assert caught.value.code == 220
    assert caught.value.text == "Сервис временно недоступен, попробуйте чуть позже"
    assert caught.value.outcome is Outcome.RETRY_LATER


def test_check_reply_unknown_code_is_kept() -> None:
    with pytest.raises(SmsRuApiError) as caught:
        check_reply({"status": "ERROR", "status_code": 999})
    assert caught.value.code == 999
    assert caught.value.text == "Неизвестный код 999"
    assert caught.value.outcome is Outcome.FAILED


def test_check_reply_without_code_is_not_a_reply() -> None:
    with pytest.raises(ValueError):
        check_reply({"status": "OK"})


@pytest.mark.parametrize(
    "parse", [parse_send, parse_cost, parse_status, parse_limit, parse_free, parse_balance]
)
def test_every_parser_checks_the_top_level(parse: Any) -> None:
    with pytest.raises(SmsRuApiError):
        parse({"status": "ERROR", "status_code": 201})


# --- Values -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1000.0, Decimal("1000.0")),
        (4122.56, Decimal("4122.56")),
        ("0.50", Decimal("0.50")),
        (3, Decimal(3)),
        (None, None),
        ("", None),
        ("abc", None),
        (True, None),
        ("NaN", None),
        ([1], None),
    ],
)
def test_to_decimal(raw: Any, expected: Decimal | None) -> None:
    assert to_decimal(raw) == expected
    if expected is not None:
        assert str(to_decimal(raw)) == str(expected)  # exact, no float noise


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *[(10, 10), ("10", 10), (" 7 ", 7), (-1, -1), ("-1", -1), (2.0, 2), (None, None)],
        *[("x", None), (1.5, None), (False, None), ("1e400", None)],
    ],
)
def test_to_int(raw: Any, expected: int | None) -> None:
    assert to_int(raw) == expected


def test_digits() -> None:
    assert digits("+7 (925) 507-06-02") == "79255070602"
    assert digits("+7(924)1234567") == "79241234567"
    assert digits("79255070602") == "79255070602"


# --- send / cost ------------------------------------------------------------------------------


def test_parse_send_documented_example() -> None:
    reply = parse_send(
        ok(
            sms={
                "79255070602": {"status": "OK", "status_code": 100, "sms_id": "000000-10000000"},
                "74993221627": {"status": "ERROR", "status_code": 207, "status_text": "нет"},
            },
            balance=4122.56,
            extra_unknown_key={"x": 1},
        )
    )
    assert reply == SendReply(
        numbers={
            "79255070602": NumberResult(
                "79255070602", True, 100, "000000-10000000", None, None, None
            ),
            "74993221627": NumberResult("74993221627", False, 207, None, "нет", None, None),
        },
        balance=Decimal("4122.56"),
    )


def test_error_entry_keeps_sms_id_but_is_not_ok() -> None:
    reply = parse_send(
        ok(sms={"79255070602": {"status": "ERROR", "status_code": "221", "sms_id": "202626-1"}})
    )
    number = reply.numbers["79255070602"]
    assert (number.ok, number.status_code, number.sms_id) == (False, 221, "202626-1")
    assert reply.balance is None


def test_send_key_normalized() -> None:
    reply = parse_send(ok(sms={"+7 (925) 507-06-02": {"status": "OK", "status_code": 100}}))
    assert list(reply.numbers) == ["79255070602"]
    assert reply.numbers["79255070602"].phone == "79255070602"


def test_send_without_sms_object_or_with_junk_entries() -> None:
    assert parse_send(ok()).numbers == {}
    assert parse_send(ok(sms=[])).numbers == {}
    assert parse_send(ok(sms={"79255070602": "junk"})).numbers == {}


def test_entry_without_code() -> None:
    reply = parse_send(ok(sms={"1": {"status": "OK"}, "2": {"status": "ERROR"}}))
    assert reply.numbers["1"].status_code == 100
    assert reply.numbers["2"].status_code == 0  # unknown code: classifies as failed


def test_parse_cost_with_totals_and_strings() -> None:
    reply = parse_cost(
        ok(
            sms={"79255070602": {"status": "OK", "status_code": 100, "cost": "0.50", "sms": "2"}},
            total_cost=1.00,
            total_sms=2,
        )
    )
    number = reply.numbers["79255070602"]
    assert (number.cost, number.segments) == (Decimal("0.50"), 2)
    assert (reply.total_cost, reply.total_sms) == (Decimal("1.0"), 2)


def test_parse_cost_without_totals() -> None:
    reply = parse_cost(ok(sms={}))
    assert (reply.total_cost, reply.total_sms) == (None, None)


# --- status and account methods ---------------------------------------------------------------


def test_parse_status() -> None:
    reply = parse_status(
        ok(
            sms={
                "000000-000001": {
                    "status": "OK",
                    "status_code": 103,
                    "cost": 0.50,
                    "status_text": "Сообщение доставлено",
                },
                "000000-000002": {"status": "ERROR", "status_code": -1},
            },
            balance="4122.56",
        )
    )
    delivered = reply.statuses["000000-000001"]
    assert (delivered.ok, delivered.status_code, delivered.cost) == (True, 103, Decimal("0.5"))
    missing = reply.statuses["000000-000002"]
    assert (missing.ok, missing.status_code, missing.cost, missing.status_text) == (
        False,
        -1,
        None,
        None,
    )
    assert reply.balance == Decimal("4122.56")


def test_limit_and_free_loose_types() -> None:
    limit = parse_limit(ok(total_limit="10", used_today=0))
    assert (limit.total_limit, limit.used_today) == (10, 0)
    free = parse_free(ok(total_free=5, used_today=None))
    assert (free.total_free, free.used_today) == (5, None)
    assert parse_limit(ok()).total_limit is None


def test_parse_strings() -> None:
    assert parse_strings(ok(), "senders") == []
    assert parse_strings(ok(senders=["MyShop", "Other"]), "senders") == ["MyShop", "Other"]
    assert parse_strings(ok(callback="not-a-list"), "callback") == []


def test_replies_are_frozen() -> None:
    reply = parse_limit(ok(total_limit=1))
    with pytest.raises(dataclasses.FrozenInstanceError):
        reply.total_limit = 2  # type: ignore[misc]
    assert not hasattr(reply, "__dict__")  # slotted


# --- recorded bodies, parsed directly ---------------------------------------------------------


def test_recorded_bodies_parse() -> None:
    single = parse_send(recorded_body("deliver_single.json"))
    assert single.numbers["79255070602"].sms_id == "202626-1000002"
    assert single.balance == Decimal("1000.0")
    assert parse_status(recorded_body("status.json")).statuses["000000-10000000"].status_code == -1
    assert parse_cost(recorded_body("cost.json")).total_cost is None
    assert parse_balance(recorded_body("balance.json")) == Decimal("1000.0")
    assert parse_limit(recorded_body("limit.json")).total_limit == 10
    assert parse_free(recorded_body("free.json")).used_today is None
    assert parse_strings(recorded_body("senders.json"), "senders") == []
    assert parse_strings(recorded_body("callback_add_get_del.json", 1), "callback") == [
        "https://example.com/sms/callback"
    ]
    check_reply(recorded_body("authed.json"))
