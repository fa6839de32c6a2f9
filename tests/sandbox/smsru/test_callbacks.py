"""The emulator's callback records, signature and form, against the recorded payloads."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support import RECORDED

from clients.smsru.callbacks import ordered_values, parse_record, verify
from sandbox.smsru.callbacks import (
    callback_form,
    heartbeat_record,
    signature,
    sms_status_record,
)


def payload(name: str) -> dict[str, Any]:
    payloads = json.loads((RECORDED / "smsru" / "callbacks.json").read_text())["payloads"]
    [found] = [p for p in payloads if p["name"] == name]
    return dict(found)


def test_signature_matches_the_recorded_vector() -> None:
    vector = payload("synthetic_signature_vector")
    records = list(vector["form_fields"].values())
    assert signature(vector["api_id"], records) == vector["hash"]


def test_signature_depends_on_key_order_and_every_byte() -> None:
    key, records = "secret-key", ["sms_status\n1-1\n103\n1", "sms_status\n1-2\n104\n2"]
    signed = signature(key, records)
    assert len(signed) == 64 and int(signed, 16) >= 0
    assert signature(key, records[::-1]) != signed
    assert signature("other-key", records) != signed
    assert signature(key, [records[0], records[1] + " "]) != signed
    assert signature(key, ["тест"]) != signature(key, ["тест "])  # UTF-8 text is signed too


def test_the_products_verifier_accepts_what_the_emulator_signs() -> None:
    records = [sms_status_record("202626-1000001", 103, 1782469893), heartbeat_record(1782469894)]
    assert verify(["wrong", "key"], records, signature("key", records)) == "key"


def test_records_have_the_recorded_shape() -> None:
    production = payload("production_mixed_test_and_callcheck")["form_fields"]
    assert heartbeat_record(1782404811) == production["data[0]"]
    assert heartbeat_record(1782405281) == production["data[2]"]
    pair = payload("synthetic_sms_status_pair")["form_fields"]
    assert sms_status_record("000000-1", 103, 1782469893) == pair["data[0]"]
    assert sms_status_record("000000-2", 104, 1782469894) == pair["data[1]"]


@pytest.mark.parametrize(
    ("record", "kind", "sms_id", "code"),
    [
        (sms_status_record("202626-1000001", 102, 1782469893), "sms_status", "202626-1000001", 102),
        (heartbeat_record(1782469893), "test", None, None),
    ],
)
def test_the_products_parser_reads_the_emulators_records(
    record: str, kind: str, sms_id: str | None, code: int | None
) -> None:
    parsed = parse_record(record)
    assert (parsed.kind, parsed.id, parsed.code) == (kind, sms_id, code)
    assert parsed.at is not None and parsed.at.timestamp() == 1782469893


def test_callback_form_numbers_the_records_and_ends_with_the_hash() -> None:
    production = payload("production_mixed_test_and_callcheck")["form_fields"]
    records = list(production.values())
    form = callback_form(records, signature("key", records))
    assert list(form) == [*production, "hash"]
    assert {k: v for k, v in form.items() if k != "hash"} == production
    assert ordered_values(form) == records
    assert form["hash"] == signature("key", records)
