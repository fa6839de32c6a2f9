"""`validate-broadcast` run for real, through Prefect: a 1,000-number CSV checked with at most ten
cost calls, its lists and artifacts; SMS.ru refusing fails the run. Nothing is ever sent. The
validation itself is tested in tests/smsbridge/broadcast/test_validate.py."""

from __future__ import annotations

import asyncio
import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from support.broadcasts import TEXT, read_csv, sent_nothing, with_key
from support.flow_runs import run_for_real

from clients.smsru.codes import meaning
from flows.validate_broadcast import INVALID_KEY, PROGRESS_KEY, SUMMARY_KEY, validate_broadcast
from models import StopListEntry
from sandbox.smsru import SmsRuEmulator
from smsbridge.broadcast.check import BroadcastCheckFailed
from smsbridge.config import Settings


def cost_calls(smsru: SmsRuEmulator) -> int:
    return sum(1 for r in smsru.requests if r.path == "/sms/cost")


class Broadcast:
    """1,000 rows as a CRM export has them, and the verdict each bad row must get.

    900 Moscow mobiles written three ways, 20 of them on our stop list and 10 refused by SMS.ru;
    30 rows of garbage, 30 landlines, and 40 repeats of good numbers written another way.
    """

    def __init__(self, engine: Engine, smsru: SmsRuEmulator, path: Path) -> None:
        rows: list[tuple[str, str]] = []  # (phone as written, name)
        self.expected: dict[str, str] = {}  # "line N" → reason
        refusals = {**dict.fromkeys(range(100, 105), 207), **dict.fromkeys(range(200, 205), 215)}
        stopped = range(300, 320)
        for n in range(900):
            digits = f"916{n:07d}"
            rows.append((("+7 " + digits, "8" + digits, "7" + digits)[n % 3], f"Клиент {n}"))
            if n in refusals:
                smsru.set_number_error("7" + digits, refusals[n])
                self.expected[f"line {n + 2}"] = f"SMS.ru {refusals[n]}: {meaning(refusals[n])}"
            elif n in stopped:
                with Session(engine) as session:
                    session.add(StopListEntry(phone="+7" + digits, reason="отписался"))
                    session.commit()
                self.expected[f"line {n + 2}"] = "on the stop list"
        garbage = [("нет", "not a phone number"), ("12345", "not a valid phone number")]
        for n in range(30):
            rows.append((garbage[n % 2][0], "мусор"))
            self.expected[f"line {len(rows) + 1}"] = garbage[n % 2][1]
        for n in range(30):
            rows.append((f"+7 (495) {2000000 + n * 1111}", "офис"))
            self.expected[f"line {len(rows) + 1}"] = "not a mobile number"
        for n in range(400, 440):
            rows.append((f"+7 (916) {n:07d}", "повтор"))
            self.expected[f"line {len(rows) + 1}"] = "duplicate"
        with path.open("w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file, delimiter=";")
            writer.writerow(["Имя", "Телефон"])
            writer.writerows((name, phone) for phone, name in rows)
        self.path = path
        self.valid = 1000 - len(self.expected)


@pytest.mark.usefixtures("prefect_harness")
def test_a_thousand_numbers_in_at_most_ten_cost_calls(
    settings: Settings, smsru: SmsRuEmulator, engine: Engine, tmp_path: Path
) -> None:
    broadcast = Broadcast(engine, smsru, tmp_path / "base.csv")
    output = tmp_path / "out" / "clean.csv"

    summary, artifacts = run_for_real(
        validate_broadcast,
        text=TEXT,
        csv_path=str(broadcast.path),
        output_csv=str(output),
        settings=with_key(settings),
    )

    assert cost_calls(smsru) <= 10 and summary["cost_calls"] == cost_calls(smsru)
    assert (summary["valid"], summary["invalid"]) == (broadcast.valid, 130)
    invalid = read_csv(tmp_path / "out" / "clean-invalid.csv")
    assert {row["where"]: row["reason"] for row in invalid} == broadcast.expected
    assert len(invalid) == len(broadcast.expected)
    by_reason = {"duplicate": 40, "not a mobile number": 30, "on the stop list": 20}
    by_reason |= {"not a phone number": 15, "not a valid phone number": 15}
    by_reason |= {f"SMS.ru 207: {meaning(207)}": 5, f"SMS.ru 215: {meaning(215)}": 5}
    assert summary["invalid_by_reason"] == by_reason
    assert (summary["encoding"], summary["segments"]) == ("ucs2", 1)
    assert Decimal(summary["total_cost"]) == Decimal("3.49") * broadcast.valid

    clean = read_csv(output)
    assert len(clean) == broadcast.valid
    assert clean[0] == {"phone": "+79160000000", "Имя": "Клиент 0", "cost": "3.49", "segments": "1"}
    assert len({row["phone"] for row in clean}) == broadcast.valid

    assert set(artifacts) == {SUMMARY_KEY, INVALID_KEY, PROGRESS_KEY}
    markdown = artifacts[SUMMARY_KEY].data
    assert f"| 1000 | {broadcast.valid} | 130 | {summary['total_cost']} ₽ |" in markdown
    assert "| on the stop list | 20 |" in markdown and "UCS-2" in markdown
    table = json.loads(artifacts[INVALID_KEY].data)  # stored as JSON text
    assert len(table) == 130 and table[0] == {
        "where": "line 102",
        "phone": "89160000100",
        "e164": "+79160000100",
        "reason": f"SMS.ru 207: {meaning(207)}",
        "detail": "",
    }
    assert artifacts[PROGRESS_KEY].data == 100.0
    assert sent_nothing(smsru)


@pytest.mark.usefixtures("prefect_harness")
def test_sms_ru_refusing_the_request_fails_the_run_with_the_reason(
    settings: Settings, smsru: SmsRuEmulator, tmp_path: Path
) -> None:
    people = tmp_path / "people.csv"
    people.write_text("+79255070602\n+79261112233\n", encoding="utf-8")
    smsru.set_top_level_error(200)

    with pytest.raises(BroadcastCheckFailed, match=r"error 200: Неправильный api_id"):
        asyncio.run(
            validate_broadcast(
                TEXT,
                csv_path=str(people),
                output_csv=str(tmp_path / "x.csv"),
                settings=with_key(settings),
            )
        )
    assert not (tmp_path / "x.csv").exists()
    assert sent_nothing(smsru)
