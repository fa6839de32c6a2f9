"""Placeholders as robots write them, resolved against the entity's real fields, and rendered."""

from __future__ import annotations

from smsbridge.templates.placeholders import Placeholder, placeholders, render, resolve, value_text

DEAL_FIELDS = {"deal": {"ID", "TITLE", "UF_CRM_PAYMENT_LINK"}, "contact": {"ID", "NAME"}}


def test_both_spellings_once_each_in_order() -> None:
    text = "#CONTACT_NAME#, {=Document:TITLE} #DEAL_UF_PAYMENT_LINK# #CONTACT_NAME# #1234# #x#"
    assert placeholders(text, "deal") == [
        Placeholder("#CONTACT_NAME#", "contact", "NAME"),
        Placeholder("{=Document:TITLE}", "deal", "TITLE"),
        Placeholder("#DEAL_UF_PAYMENT_LINK#", "deal", "UF_PAYMENT_LINK"),
    ]


def test_user_fields_with_or_without_crm_and_what_cannot_be_read() -> None:
    def field(token: str, entity: str = "deal") -> tuple[str | None, str | None]:
        [found] = placeholders(token, entity)
        resolved = resolve(found, entity, DEAL_FIELDS)
        return resolved.field, resolved.problem and resolved.problem.en

    assert field("#DEAL_UF_PAYMENT_LINK#") == ("UF_CRM_PAYMENT_LINK", None)
    assert field("#DEAL_UF_CRM_PAYMENT_LINK#") == ("UF_CRM_PAYMENT_LINK", None)
    assert field("#CONTACT_NAME#") == ("NAME", None)
    assert field("#DEAL_OPPORTUNITY#") == (None, "no field OPPORTUNITY on a deal")
    assert field("#ORDER_SUM#") == (None, "names no CRM entity (deal, lead or contact)")
    assert field("#DEAL_TITLE#", "contact") == (None, "a contact has no deal to read it from")
    assert field("{=Document:CONTACT_ID.NAME}") == (None, "'CONTACT_ID.NAME' is not a field name")


def test_why_a_placeholder_cannot_be_read_in_russian() -> None:
    def problem(token: str, entity: str = "deal") -> str:
        [found] = placeholders(token, entity)
        said = resolve(found, entity, DEAL_FIELDS).problem
        assert said is not None
        return said.in_language("ru")

    assert problem("#DEAL_OPPORTUNITY#") == "у сделки нет поля OPPORTUNITY"
    assert problem("#ORDER_SUM#") == "не называет сущность CRM (сделку, лид или контакт)"
    assert problem("#DEAL_TITLE#", "contact") == "у контакта нет сделки: поле неоткуда взять"


def test_values_as_the_text_shows_them() -> None:
    assert value_text(None) == value_text(False) == ""
    assert value_text(" 4990.00 ") == "4990.00"
    assert value_text(["a", None, "b"]) == "a, b"
    assert value_text([{"VALUE": "+7925", "VALUE_TYPE": "WORK"}]) == "+7925"
    assert render("Hi #CONTACT_NAME#! {=Document:TITLE}", {"#CONTACT_NAME#": "Anna"}) == "Hi Anna! "
