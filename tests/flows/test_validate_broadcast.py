"""`validate-broadcast` run for real: a 1,000-number CSV, a CRM selection marked on the emulated
portal, SMS.ru refusing, bad arguments, and the command line. Nothing is ever sent."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from pydantic import AnyHttpUrl, SecretStr
from sqlalchemy import Engine
from sqlmodel import Session, select
from support import SMSRU_KEY, Webhook

from clients.smsru.codes import meaning
from flows.validate_broadcast import INVALID_KEY, PROGRESS_KEY, SUMMARY_KEY, validate_broadcast
from models import Portal, StopListEntry
from sandbox.bitrix24.portal import PortalEmulator
from sandbox.smsru import SmsRuEmulator
from smsbridge.broadcast_check import BroadcastCheck, BroadcastCheckFailed, Invalid
from smsbridge.config import Settings
from smsbridge.invalid_marks import FIELD, MarkingIncomplete, MarkSummary, mark_invalid
from smsbridge.portal_client import portal_client
from smsbridge.recipients import CrmRef, Recipient
from smsbridge.runtime import runtime
from smsbridge.segments import measure

TEXT = "Скидка 20% на всё до воскресенья!"
USERFIELD_ADD = "crm.contact.userfield.add"


def sent_nothing(smsru: SmsRuEmulator) -> bool:
    return not [r for r in smsru.requests if r.path == "/sms/send"]


def cost_calls(smsru: SmsRuEmulator) -> int:
    return sum(1 for r in smsru.requests if r.path == "/sms/cost")


def with_key(settings: Settings) -> Settings:
    return settings.model_copy(update={"smsru_api_id": SecretStr(SMSRU_KEY)})


def for_portal(settings: Settings, bitrix24: PortalEmulator) -> Settings:
    return with_key(settings).model_copy(
        update={
            "bitrix24_client_id": bitrix24.client_id,
            "bitrix24_client_secret": SecretStr(bitrix24.client_secret),
            "bitrix24_oauth_url": AnyHttpUrl(bitrix24.base_url),
        }
    )


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as file:
        return list(csv.DictReader(file))


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


def run_for_real(**parameters: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The flow's result and its artifacts by key, from the Prefect test server."""

    async def run() -> tuple[dict[str, Any], dict[str, Any]]:
        state = await validate_broadcast(**parameters, return_state=True)
        summary = await state.aresult()
        run_id = state.state_details.flow_run_id
        async with get_client() as client:
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
            )
        return summary, {artifact.key: artifact for artifact in artifacts}

    return asyncio.run(run())


@pytest.mark.usefixtures("prefect_harness")
def test_a_thousand_numbers_in_at_most_ten_cost_calls(
    settings: Settings, smsru: SmsRuEmulator, engine: Engine, tmp_path: Path
) -> None:
    broadcast = Broadcast(engine, smsru, tmp_path / "base.csv")
    output = tmp_path / "out" / "clean.csv"

    summary, artifacts = run_for_real(
        text=TEXT, csv_path=str(broadcast.path), output_csv=str(output), settings=with_key(settings)
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
    assert f"| 1000 | {broadcast.valid} | 130 | {summary['total_cost']} RUB |" in markdown
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
def test_a_crm_selection_is_checked_and_its_bad_numbers_marked(
    installed: Webhook,
    bitrix24: PortalEmulator,
    settings: Settings,
    smsru: SmsRuEmulator,
    tmp_path: Path,
) -> None:
    web = {"SOURCE_ID": "WEB"}
    anna = bitrix24.add_contact("Анна", ["+79255070602"], **web)
    boris = bitrix24.add_contact("Борис", ["+7 495 123-45-67", "+79261112233"], **web)
    vera = bitrix24.add_contact("Вера", ["+79031112233"], **web)
    gleb = bitrix24.add_contact("Глеб", ["89255070602"], **web)
    other = bitrix24.add_contact("Дина", ["abc"], SOURCE_ID="CALL")
    smsru.set_number_error("79031112233", 207)
    parameters = {
        "text": TEXT,
        "crm_entity": "contact",
        "crm_filter": web,
        "mark_invalid": True,
        "settings": for_portal(settings, bitrix24),
    }

    first, _ = run_for_real(**parameters, output_csv=str(tmp_path / "first.csv"))

    assert (first["recipients"], first["valid"], first["invalid"]) == (5, 2, 3)
    assert first["crm_marks"] == {"field_created": True, "marked": 3, "cleared": 0, "failed": 0}
    marks = {n: bitrix24.entity("contact", n)[FIELD] for n in (anna, boris, vera, gleb, other)}
    assert marks == {
        anna: None,
        boris: "+7 495 123-45-67: not a mobile number",
        vera: f"+79031112233: SMS.ru 207: {meaning(207)}",
        gleb: f"89255070602: duplicate (same number as contact {anna})",
        other: None,  # not selected
    }
    clean = read_csv(tmp_path / "first.csv")
    assert [(r["phone"], r["entity_id"], r["name"]) for r in clean] == [
        ("+79255070602", str(anna), "Анна"),
        ("+79261112233", str(boris), "Борис"),
    ]

    smsru.set_number_error("79031112233", None)  # Vera's number works again
    second = asyncio.run(
        validate_broadcast.fn(**parameters, output_csv=str(tmp_path / "second.csv"))
    )

    assert second["crm_marks"] == {"field_created": False, "marked": 0, "cleared": 1, "failed": 0}
    assert bitrix24.entity("contact", vera)[FIELD] == ""
    assert bitrix24.entity("contact", boris)[FIELD] == marks[boris]
    assert [r.method for r in bitrix24.request_log].count(USERFIELD_ADD) == 1
    assert sent_nothing(smsru)


def test_items_that_cannot_be_marked_are_reported(
    installed: Webhook, bitrix24: PortalEmulator, settings: Settings
) -> None:
    gone = Recipient("abc", "contact 999", {}, CrmRef("contact", 999, None))
    check = BroadcastCheck(measure(TEXT), [], [Invalid(gone, "not a phone number")], 0)

    async def mark() -> MarkSummary:
        async with runtime(for_portal(settings, bitrix24)) as rt:
            async with rt.sessions() as session:  # closed first: on SQLite it holds the lock
                [portal_id] = (await session.exec(select(Portal.id))).all()
            assert portal_id is not None
            client = portal_client(rt.sessions, rt.settings, rt.http, portal_id)
            return await mark_invalid(client, check)

    marks = asyncio.run(mark())

    assert (marks.field_created, marks.marked, list(marks.failed)) == (True, 0, ["contact_999"])
    with pytest.raises(
        MarkingIncomplete, match=r"^1 CRM items were not marked \(contact_999: .*Not found"
    ):
        marks.raise_if_failed()


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


def test_the_portals_own_key_wins(
    settings: Settings, smsru: SmsRuEmulator, portal: Portal, tmp_path: Path
) -> None:
    people = tmp_path / "people.csv"
    people.write_text("phone\n+79255070602\n", encoding="utf-8")
    unknown = settings.model_copy(update={"smsru_api_id": SecretStr("not-an-smsru-key-0000")})

    summary = asyncio.run(
        validate_broadcast.fn(
            TEXT, csv_path=str(people), output_csv=str(tmp_path / "o.csv"), settings=unknown
        )
    )

    assert summary["valid"] == 1


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({}, "exactly one source"),
        ({"csv_path": "a.csv", "crm_entity": "contact"}, "exactly one source"),
        ({"crm_entity": "deal"}, "contact, lead"),
        ({"csv_path": "a.csv", "mark_invalid": True}, "needs a CRM selection"),
        ({"csv_path": "a.csv", "member_id": "unknown"}, "no portal unknown"),
        ({"crm_entity": "contact"}, "no portal is stored"),
        ({"csv_path": "a.csv"}, "no SMS.ru key"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_asked(
    settings: Settings,
    smsru: SmsRuEmulator,
    tmp_path: Path,
    arguments: dict[str, Any],
    problem: str,
) -> None:
    with pytest.raises((ValueError, LookupError), match=problem):
        asyncio.run(validate_broadcast.fn(TEXT, settings=settings, **arguments))
    assert smsru.requests == []


def test_several_portals_need_a_member_id_for_the_crm(
    settings: Settings, engine: Engine, portal: Portal
) -> None:
    with Session(engine) as session:
        session.add(Portal(member_id="second-portal"))
        session.commit()
    with pytest.raises(LookupError, match="several portals are stored"):
        asyncio.run(validate_broadcast.fn(TEXT, crm_entity="lead", settings=settings))


COMMAND = (
    "import typer\n"
    "from smsbridge.commands.validate_broadcast import validate_broadcast\n"
    "app = typer.Typer()\n"
    "app.command()(validate_broadcast)\n"
    "app()\n"
)


def command(settings: Settings, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it: its own process, configured by the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMSRU_", "DATABASE_URL"))}
    env |= {
        "DATABASE_URL": settings.database_url,
        "SMSRU_API_URL": settings.smsru_base,
        "SMSRU_API_ID": SMSRU_KEY,
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-c", COMMAND, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_command_prints_the_figures_and_writes_the_lists(
    settings: Settings, smsru: SmsRuEmulator, tmp_path: Path
) -> None:
    (tmp_path / "people.csv").write_text("phone\n+79255070602\n+7 495 123-45-67\n")

    done = command(settings, tmp_path, TEXT, "--csv", "people.csv")

    assert done.returncode == 0, done.stderr
    assert "not a mobile number" in done.stdout and "3.49 RUB" in done.stdout
    [report] = (tmp_path / "reports").glob("validate-broadcast-*Z.csv")
    assert [row["phone"] for row in read_csv(report)] == ["+79255070602"]
    assert sent_nothing(smsru)


def test_the_command_exits_1_when_sms_ru_refuses(
    settings: Settings, smsru: SmsRuEmulator, tmp_path: Path
) -> None:
    (tmp_path / "people.csv").write_text("+79255070602\n")
    smsru.set_top_level_error(201)

    done = command(settings, tmp_path, TEXT, "--csv", "people.csv")

    assert done.returncode == 1
    assert "error 201" in done.stderr and meaning(201) in done.stderr


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--csv", "absent.csv"], "no such file"),
        (["--crm", "contact", "--filter", "{oops"], "--filter is not JSON"),
        (["--csv", "absent.csv", "--filter", "{}"], "give --crm too"),
    ],
)
def test_the_command_exits_2_on_bad_arguments(
    settings: Settings, smsru: SmsRuEmulator, tmp_path: Path, args: list[str], problem: str
) -> None:
    done = command(settings, tmp_path, TEXT, *args)

    assert done.returncode == 2
    assert problem in done.stderr
    assert smsru.requests == []
