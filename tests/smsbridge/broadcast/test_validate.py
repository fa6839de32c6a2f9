"""Broadcast validation against both emulators and the real database: a CRM selection checked and
its bad numbers marked (then cleared), which SMS.ru key is used, and bad arguments refused before
anything is asked. Nothing is ever sent."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlmodel import Session
from support.broadcasts import TEXT, read_csv, sent_nothing

from clients.smsru.codes import meaning
from models import Portal
from sandbox.bitrix24.portal import PortalEmulator
from sandbox.smsru import SmsRuEmulator
from smsbridge.broadcast.marks import FIELD
from smsbridge.broadcast.validate import validate
from smsbridge.config import Settings
from smsbridge.runtime import runtime

USERFIELD_ADD = "crm.contact.userfield.add"


def validated(settings: Settings, text: str = TEXT, **arguments: Any) -> dict[str, Any]:
    """`validate` as the flow and the command run it; its summary."""

    async def run() -> dict[str, Any]:
        async with runtime(settings) as rt:
            return (await validate(rt, text, **arguments)).summary()

    return asyncio.run(run())


def test_a_crm_selection_is_checked_and_its_bad_numbers_marked(
    installed_settings: Settings,
    bitrix24: PortalEmulator,
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
    selection: dict[str, Any] = {"crm_entity": "contact", "crm_filter": web, "mark_invalid": True}

    first = validated(installed_settings, **selection, output_csv=tmp_path / "first.csv")

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
    second = validated(installed_settings, **selection, output_csv=tmp_path / "second.csv")

    assert second["crm_marks"] == {"field_created": False, "marked": 0, "cleared": 1, "failed": 0}
    assert bitrix24.entity("contact", vera)[FIELD] == ""
    assert bitrix24.entity("contact", boris)[FIELD] == marks[boris]
    assert [r.method for r in bitrix24.request_log].count(USERFIELD_ADD) == 1
    assert sent_nothing(smsru)


def test_the_portals_own_key_wins(
    settings: Settings, smsru: SmsRuEmulator, portal: Portal, tmp_path: Path
) -> None:
    people = tmp_path / "people.csv"
    people.write_text("phone\n+79255070602\n", encoding="utf-8")
    unknown = settings.model_copy(update={"smsru_api_id": SecretStr("not-an-smsru-key-0000")})

    summary = validated(unknown, csv_path=people, output_csv=tmp_path / "o.csv")

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
        validated(settings, **arguments)
    assert smsru.requests == []


def test_several_portals_need_a_member_id_for_the_crm(
    settings: Settings, engine: Engine, portal: Portal
) -> None:
    with Session(engine) as session:
        session.add(Portal(member_id="second-portal"))
        session.commit()
    with pytest.raises(LookupError, match="several portals are stored"):
        validated(settings, crm_entity="lead")
