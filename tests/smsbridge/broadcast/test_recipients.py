"""Recipients from CSV files as people save them, and from the emulated portal's CRM."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from clients.bitrix24.client import Bitrix24Client
from clients.bitrix24.tokens import TokenPair
from sandbox.bitrix24.portal import PortalEmulator
from smsbridge.broadcast.recipients import Recipient, RecipientsError, from_crm, from_csv


def write(tmp_path: Path, content: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "list.csv"
    path.write_bytes(content.encode(encoding))
    return path


def test_a_header_names_the_phone_column_and_the_rest_is_carried(tmp_path: Path) -> None:
    path = write(tmp_path, 'id,phone,name\n7,+79255070602,"Иванов, Иван"\n8,89161234567\n')

    assert from_csv(path) == [
        Recipient("+79255070602", "line 2", {"id": "7", "name": "Иванов, Иван"}),
        Recipient("89161234567", "line 3", {"id": "8", "name": ""}),
    ]


def test_semicolons_a_bom_and_a_russian_header(tmp_path: Path) -> None:
    path = write(tmp_path, "Имя;Телефон\r\nАнна;+7 925 507-06-02\r\n", encoding="utf-8-sig")

    assert from_csv(path) == [Recipient("+7 925 507-06-02", "line 2", {"Имя": "Анна"})]


@pytest.mark.parametrize("header", ["PHONE", "Number", "phone"])
def test_the_phone_header_is_case_insensitive(tmp_path: Path, header: str) -> None:
    path = write(tmp_path, f"name,{header}\nA,79255070602\n")
    assert [r.phone for r in from_csv(path)] == ["79255070602"]


def test_one_column_without_a_header_keeps_line_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, "+79255070602\n\n  89161234567  \n")

    assert from_csv(path) == [
        Recipient("+79255070602", "line 1", {}),
        Recipient("89161234567", "line 3", {}),
    ]


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RecipientsError, match="no such file"):
        from_csv(tmp_path / "absent.csv")


def test_several_columns_without_a_phone_column_is_a_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path, "name,mobile\nA,79255070602\n")
    with pytest.raises(RecipientsError, match=r"no phone column.*\(the header has: name, mobile\)"):
        from_csv(path)


def test_text_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path, "телефон\n79255070602\n", encoding="cp1251")
    with pytest.raises(RecipientsError, match="not UTF-8"):
        from_csv(path)


def test_an_empty_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RecipientsError, match="no rows"):
        from_csv(write(tmp_path, "\n\n"))


class EmulatorTokens:
    """A token pair issued by the emulated portal; these tests never outlive it."""

    def __init__(self, portal: PortalEmulator) -> None:
        issued = portal.issue_tokens()
        self.pair = TokenPair(
            access_token=issued["access_token"],
            refresh_token=issued["refresh_token"],
            expires_at=datetime.now(UTC) + timedelta(hours=1),
            client_endpoint=issued["client_endpoint"],
        )

    async def current(self) -> TokenPair:
        return self.pair

    async def refreshed(self, stale: TokenPair) -> TokenPair:
        raise AssertionError("no refresh expected")


class Unpaced:
    """A limiter that never waits: these tests make a few requests, far below the burst."""

    async def acquire(self) -> None:
        pass

    async def penalize(self, seconds: float) -> None:
        raise AssertionError("the emulated portal's bucket should not fill in these tests")


def crm_recipients(
    portal: PortalEmulator, entity: str, filter: dict[str, str], **options: Any
) -> list[Recipient]:
    """What `from_crm` yields through a real client over HTTP to the emulated portal."""

    async def collect() -> list[Recipient]:
        async with httpx.AsyncClient(timeout=10.0) as http:
            client = Bitrix24Client(EmulatorTokens(portal), Unpaced(), http)
            return [r async for r in from_crm(client, entity, filter, **options)]

    return asyncio.run(collect())


def test_a_crm_selection_gives_one_recipient_per_phone(bitrix24: PortalEmulator) -> None:
    first = bitrix24.add_contact("Анна", ["+79255070602", ("8 916 123-45-67", "MOBILE")])
    bitrix24.add_contact("Без телефона", SOURCE_ID="WEB")
    other = bitrix24.add_contact("Борис", ["+79035550101"], SOURCE_ID="WEB")
    for n in range(60):  # more than a page
        bitrix24.add_contact(f"Клиент {n}", [f"+7926{n:07d}"], SOURCE_ID="WEB")

    everyone = crm_recipients(bitrix24, "contact", {})
    web = crm_recipients(bitrix24, "contact", {"SOURCE_ID": "WEB"})

    assert len(everyone) == 63
    anna = [r for r in everyone if r.crm is not None and r.crm.id == first]
    phone_ids = [item["ID"] for item in bitrix24.entity("contact", first)["PHONE"]]
    assert [(r.phone, r.where, r.crm and r.crm.phone_id) for r in anna] == [
        ("+79255070602", f"contact {first}", phone_ids[0]),
        ("8 916 123-45-67", f"contact {first}", phone_ids[1]),
    ]
    assert anna[0].columns == {"entity": "contact", "entity_id": str(first), "name": "Анна"}
    assert len(web) == 61 and web[0].crm is not None and web[0].crm.id == other


def test_leads_carry_their_title_and_asked_fields(bitrix24: PortalEmulator) -> None:
    lead = bitrix24.add_lead("Заявка с сайта", ["+79255070602"], NAME="Вера", COMMENTS="x")

    [recipient] = crm_recipients(bitrix24, "lead", {}, extra_fields=["COMMENTS"])

    assert recipient.columns == {
        "entity": "lead",
        "entity_id": str(lead),
        "title": "Заявка с сайта",
        "name": "Вера",
    }
    assert recipient.crm is not None and recipient.crm.fields == {"COMMENTS": "x"}


def test_only_contacts_and_leads_have_recipients(bitrix24: PortalEmulator) -> None:
    with pytest.raises(RecipientsError, match="contact, lead"):
        crm_recipients(bitrix24, "deal", {})
