"""A template checked against the portal emulator's CRM over real HTTP, priced at the SMS.ru
emulator: the seed's example (80 characters: two SMS; 68: one), placeholders unknown and empty,
a deal's contact read through a batch with only the fields the text needs, and bad arguments."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from support.broadcasts import sent_nothing

from sandbox.bitrix24.portal import PortalEmulator
from sandbox.smsru import SmsRuEmulator
from smsbridge.config import Settings
from smsbridge.runtime import Runtime, runtime
from smsbridge.templates.check import TemplateCheck, TemplateCheckFailed, check_template

# The seed's "Your order #{ORDER} for {SUM} rub. confirmed. Delivery {DATE}." in Bitrix24's syntax.
ORDER = (
    "Ваш заказ №#DEAL_ID# на сумму #DEAL_OPPORTUNITY# руб. подтверждён."
    " Доставка #DEAL_UF_DELIVERY#."
)


def checked(
    settings: Settings,
    bitrix24: PortalEmulator,
    text: str,
    seen: list[Any] | None = None,
    **kw: Any,
) -> TemplateCheck:
    """`check_template` as the command runs it; `seen` collects the JSON bodies sent to Bitrix24."""

    async def record(request: httpx.Request) -> None:
        if seen is not None and str(request.url).startswith(bitrix24.base_url):
            seen.append((request.url.path.rsplit("/", 1)[-1], json.loads(request.content)))

    async def run() -> TemplateCheck:
        async with (
            runtime(settings) as rt,
            httpx.AsyncClient(event_hooks={"request": [record]}) as http,
        ):
            recorded = Runtime(rt.settings, rt.sessions, http)
            arguments = {"member_id": bitrix24.member_id, "entity": "deal"} | kw
            return await check_template(recorded, text, **arguments)

    return asyncio.run(run())


def delivery_field(bitrix24: PortalEmulator) -> None:
    field = {"FIELD_NAME": "DELIVERY", "USER_TYPE_ID": "string"}
    bitrix24.execute("crm.deal.userfield.add", {"fields": field}, user_id=1)


def test_the_seed_example_two_sms_at_80_characters_one_at_68(
    installed_settings: Settings, bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> None:
    delivery_field(bitrix24)
    short = bitrix24.add_deal("Стол", OPPORTUNITY="4990.00", UF_CRM_DELIVERY="15.03.2026")
    long = bitrix24.add_deal(
        "Диван", OPPORTUNITY="29990.00", UF_CRM_DELIVERY="16.03.2026 с 10 до 14"
    )
    undated = bitrix24.add_deal("Кресло", OPPORTUNITY="1500.00")

    check = checked(installed_settings, bitrix24, ORDER)

    assert [r.item_id for r in check.renderings] == [undated, long, short]  # newest first
    texts = {r.item_id: r for r in check.renderings}
    assert (len(texts[short].text), texts[short].measure.segments) == (68, 1)
    assert (len(texts[long].text), texts[long].measure.segments) == (80, 2)
    assert texts[long].text == (
        "Ваш заказ №2 на сумму 29990.00 руб. подтверждён. Доставка 16.03.2026 с 10 до 14."
    )
    assert (check.fixed.units, check.fixed.encoding, check.fixed.segments) == (50, "ucs2", 1)
    assert check.lengths() == {"min": 58, "median": 68, "p90": 80, "max": 80}
    assert check.by_encoding() == {"ucs2": 3}
    assert check.by_segments() == {1: 2, 2: 1}
    assert (check.segments, check.crossing) == (4, 1)
    assert check.to_one_fewer() == {2: 10}  # 80 characters, 70 fit one SMS
    # The SMS.ru emulator charges 3.49 ₽ an SMS to a Russian number: one call per segment count.
    assert [(p.segments, p.items, p.smsru_segments, p.cost) for p in check.probes] == [
        (1, 2, 1, Decimal("3.49")),
        (2, 1, 2, Decimal("6.98")),
    ]
    assert sum(1 for r in smsru.requests if r.path == "/sms/cost") == 2
    assert check.sample_cost == Decimal("13.96")
    assert check.per_thousand == Decimal("4653.33")
    empty = {p.token: (p.field, p.empty) for p in check.placeholders}
    assert empty == {
        "#DEAL_ID#": ("deal.ID", 0),
        "#DEAL_OPPORTUNITY#": ("deal.OPPORTUNITY", 0),
        "#DEAL_UF_DELIVERY#": ("deal.UF_CRM_DELIVERY", 1),
    }
    assert check.costly == ()  # a Cyrillic text: UCS-2 is its own, and nothing counts twice
    assert sent_nothing(smsru)


def test_contacts_through_a_batch_only_the_fields_needed_unknown_placeholders_named(
    installed_settings: Settings, bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> None:
    anna = bitrix24.add_contact("Anna", ["+79255070602"])
    for n in range(120):
        bitrix24.add_deal(f"Order {n}", anna if n % 2 else None, OPPORTUNITY=f"{n}.00")
    text = "Hi #CONTACT_NAME#! {=Document:TITLE} #DEAL_UF_NOPE# #ORDER_NUMBER# #LEAD_TITLE#"
    seen: list[Any] = []

    check = checked(installed_settings, bitrix24, text, seen, sample=110)

    assert check.items == 110
    assert check.renderings[0].text == "Hi Anna! Order 119   "  # deal 120 has Anna
    assert check.renderings[1].text == "Hi ! Order 118   "
    figures = {p.token: (p.field, p.problem and p.problem.en, p.empty) for p in check.placeholders}
    assert figures == {
        "#CONTACT_NAME#": ("contact.NAME", None, 55),
        "{=Document:TITLE}": ("deal.TITLE", None, 0),
        "#DEAL_UF_NOPE#": (None, "no field UF_NOPE on a deal", 110),
        "#ORDER_NUMBER#": (None, "names no CRM entity (deal, lead or contact)", 110),
        "#LEAD_TITLE#": (None, "a deal has no lead to read it from", 110),
    }
    # fields (one batch), page one, pages two and three (one batch), the contact (one batch)
    assert [method for method, _ in seen] == ["batch", "crm.deal.list", "batch", "batch"]
    assert check.requests == 4
    assert set(seen[0][1]["cmd"]) == {"deal", "contact"}
    assert seen[1][1]["select"] == ["ID", "TITLE", "CONTACT_ID"]
    assert seen[1][1]["order"] == {"ID": "DESC"}
    assert len(seen[2][1]["cmd"]) == 2  # offsets 50 and 100; the rows past 110 are dropped
    [contacts] = seen[3][1]["cmd"].values()
    assert contacts.startswith("crm.contact.list?") and "select%5B1%5D=NAME" in contacts
    assert "PHONE" not in contacts


def test_characters_that_make_a_latin_text_dear_are_pointed_at(
    installed_settings: Settings, bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> None:
    for name in ("Boris", "Борис"):
        contact = bitrix24.add_contact(name)
        bitrix24.add_deal("Sofa", contact)
    text = "Hello #CONTACT_NAME#, your order “#DEAL_TITLE#” is ready — pick it up today."

    check = checked(installed_settings, bitrix24, text)

    assert check.fixed.encoding == "ucs2"  # the quotes and the dash
    assert check.switched_to_ucs2 == 0
    costly = {
        c.culprit.char: (c.culprit.replacement, c.culprit.count, c.in_template)
        for c in check.costly
    }
    assert costly == {
        "“": ('"', 2, True),
        "”": ('"', 2, True),
        "—": ("-", 2, True),
        "Биорс": (None, 1, False),  # a Russian name: its letters as one entry
    }
    assert check.plain_segments == check.segments == 2  # short either way: one SMS each


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"entity": "company"}, "entity must be one of deal, lead, contact"),
        ({"sample": 0}, "the sample must be 1 to 5000 items"),
        ({"phone": "12"}, "--phone 12"),
        ({"member_id": "nobody"}, "no portal nobody is stored"),
    ],
)
def test_bad_arguments_are_refused_before_any_request(
    installed_settings: Settings,
    bitrix24: PortalEmulator,
    smsru: SmsRuEmulator,
    arguments: dict[str, Any],
    problem: str,
) -> None:
    before = len(bitrix24.request_log), len(smsru.requests)  # the install's
    with pytest.raises((ValueError, LookupError), match=problem):
        checked(installed_settings, bitrix24, ORDER, **arguments)
    assert (len(bitrix24.request_log), len(smsru.requests)) == before


def test_a_portal_without_items_fails_the_check(
    installed_settings: Settings, bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> None:
    with pytest.raises(TemplateCheckFailed, match="the portal has no leads"):
        checked(installed_settings, bitrix24, "#LEAD_TITLE#", entity="lead")


def test_texts_smsru_would_refuse_are_counted_not_priced(
    installed_settings: Settings, bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> None:
    bitrix24.add_deal("Стол")
    bitrix24.add_deal("")  # an empty text: SMS.ru answers 203
    bitrix24.add_deal("ж" * 537)  # nine SMS: SMS.ru answers 205

    check = checked(installed_settings, bitrix24, "#DEAL_TITLE#")

    assert check.unsendable == 2
    assert [(p.segments, p.items) for p in check.probes] == [(1, 1)]
    assert check.sample_cost == Decimal("3.49")
    assert check.by_segments() == {0: 1, 1: 1, 9: 1}
