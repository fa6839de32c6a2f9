"""The code table and the callback helpers, checked against the reference and its recordings."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from support import RECORDED as RECORDINGS_ROOT

from clients.smsru.callbacks import ordered_values, parse_record, sign, verify
from clients.smsru.codes import Outcome, classify, is_known, meaning

RECORDED = RECORDINGS_ROOT / "smsru"


def payload(name: str) -> dict[str, Any]:
    data = json.loads((RECORDED / "callbacks.json").read_text(encoding="utf-8"))
    found: dict[str, Any] = next(p for p in data["payloads"] if p["name"] == name)
    return found


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (103, Outcome.DELIVERED),
        (110, Outcome.DELIVERED),
        (100, Outcome.PENDING),
        (102, Outcome.PENDING),
        (104, Outcome.UNDELIVERED),
        (150, Outcome.UNDELIVERED),
        (207, Outcome.FAILED),
        (202, Outcome.FAILED),
        (220, Outcome.RETRY_LATER),
        (500, Outcome.RETRY_LATER),
        (200, Outcome.ACCOUNT_PROBLEM),
        (201, Outcome.ACCOUNT_PROBLEM),
        (221, Outcome.ACCOUNT_PROBLEM),
        (-1, Outcome.NOT_FOUND),
        (999, Outcome.FAILED),
    ],
)
def test_classify(code: int, outcome: Outcome) -> None:
    assert classify(code) is outcome


def test_meaning() -> None:
    assert meaning(103) == "Сообщение доставлено"
    assert meaning(102) == "Сообщение отправлено (в пути)"
    assert meaning(104) == "Не может быть доставлено: время жизни истекло"
    assert meaning(201) == "Не хватает средств на лицевом счету"
    assert meaning(999) == "Неизвестный код 999"
    assert is_known(221) and not is_known(999)


def test_recorded_signature_vector_verifies() -> None:
    vector = payload("synthetic_signature_vector")
    values = ordered_values(vector["form_fields"])
    assert values == ["a", "b"]
    assert sign(vector["api_id"], values) == vector["hash"]
    assert verify(["other-key", vector["api_id"]], values, vector["hash"]) == vector["api_id"]
    assert verify([vector["api_id"]], values, vector["hash"].upper()) == vector["api_id"]


def test_wrong_hash_or_key_does_not_verify() -> None:
    vector = payload("synthetic_signature_vector")
    values = ordered_values(vector["form_fields"])
    assert verify([vector["api_id"]], values, "0" * 64) is None
    assert verify(["wrong-key"], values, vector["hash"]) is None
    assert verify([vector["api_id"]], ["b", "a"], vector["hash"]) is None


def test_ordered_values_gap_keys_numeric_order_and_hash_ignored() -> None:
    form = {
        "hash": "deadbeef",
        "data[4]": "four",
        "data[10]": "ten",
        "data[0]": "zero",
        "data[2]": "two",
        "data[1]": "one",
        "other": "x",
    }
    assert ordered_values(form) == ["zero", "one", "two", "four", "ten"]
    first = payload("production_mixed_test_and_callcheck")["form_fields_as_first_committed"]
    assert [parse_record(v).kind for v in ordered_values(first)] == [
        "test",
        "callcheck_status",
        "test",
        "callcheck_status",
    ]


def test_parse_production_payload() -> None:
    values = ordered_values(payload("production_mixed_test_and_callcheck")["form_fields"])
    records = [parse_record(v) for v in values]
    heartbeat = records[0]
    assert (heartbeat.kind, heartbeat.id, heartbeat.code) == ("test", None, None)
    assert heartbeat.at == datetime.fromtimestamp(1782404811, tz=UTC)
    check = records[1]
    assert (check.kind, check.id, check.code) == ("callcheck_status", "202626-48053517", 401)
    assert check.at == datetime.fromtimestamp(1782404881, tz=UTC)
    assert records[3].id == "202626-48054630"


def test_parse_sms_status_and_callcheck_and_heartbeat() -> None:
    delivered, expired = (
        parse_record(v) for v in ordered_values(payload("synthetic_sms_status_pair")["form_fields"])
    )
    assert (delivered.kind, delivered.id, delivered.code) == ("sms_status", "000000-1", 103)
    assert classify(delivered.code or 0) is Outcome.DELIVERED
    assert (expired.id, expired.code) == ("000000-2", 104)
    assert classify(expired.code or 0) is Outcome.UNDELIVERED

    callcheck = payload("synthetic_callcheck")
    confirmed = parse_record(callcheck["form_fields"]["data[0]"])
    timed_out = parse_record(callcheck["alt_form_fields"]["data[0]"])
    assert (confirmed.kind, confirmed.id, confirmed.code) == ("callcheck_status", "000000-9", 401)
    assert (timed_out.id, timed_out.code) == ("000000-8", 402)

    beat = parse_record(payload("synthetic_test_heartbeat")["form_fields"]["data[0]"])
    assert (beat.kind, beat.id, beat.code) == ("test", None, None)
    assert beat.at == datetime.fromtimestamp(1782404811, tz=UTC)


def test_parse_record_is_lenient() -> None:
    assert parse_record("sms_status\r\n000000-1\r\n103\r\n1782469893").code == 103
    short = parse_record("sms_status\n000000-1\n103")  # older samples: no timestamp
    assert (short.code, short.at) == (103, None)
    odd = parse_record("something_new\nabc\nxyz")
    assert (odd.kind, odd.id, odd.code, odd.at) == ("something_new", "abc", None, None)
