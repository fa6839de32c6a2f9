"""Sent texts grouped into templates: what is masked, what stays, names merged where only they
differ; and the report's cost by template over the real database (sends, segments, cost,
delivery rate, time to delivery per template)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from report_support import DAY, Seeder, seeded_days
from sqlalchemy import Engine
from sqlmodel import Session

from smsbridge.config import Settings
from smsbridge.report import html
from smsbridge.report.figures import compute
from smsbridge.report.load import read_messages
from smsbridge.report.templates import mask, merge_names, template_codes
from smsbridge.report.text import headline


@pytest.mark.parametrize(
    ("text", "template"),
    [
        (
            "Ваш заказ №10234 на сумму 12 490.00 руб. подтверждён. Доставка 15.03.2026.",
            "Ваш заказ №{number} на сумму {number} руб. подтверждён. Доставка {date}.",
        ),
        ("Запись 5 марта в 9:30, кабинет 12", "Запись {date} в {time}, кабинет {number}"),
        ("Оплата: https://pay.shop.ru/i/00AB12CD", "Оплата: {link}"),
        ("Оплата: pay.shop.ru/i/00AB12CD.", "Оплата: {link}"),
        ("Your code: A7K9Q2", "Your code: {code}"),
        ("Здравствуйте, Анна Петровна! Код 4512", "Здравствуйте, {name}! Код {number}"),
        ("Hello Boris, order 77 is ready", "Hello {name}, order {number} is ready"),
        ("Скидка 20% на всё до воскресенья!", "Скидка {number}% на всё до воскресенья!"),
        ("Спасибо, ваш заказ 12 принят", "Спасибо, ваш заказ {number} принят"),
        ("Анна, заказ 5 готов", "{name}, заказ {number} готов"),
    ],
)
def test_variable_parts_are_masked(text: str, template: str) -> None:
    assert mask(text) == template


def test_names_are_masked_where_only_they_differ() -> None:
    forms = [
        "Анна, заказ {number} готов",
        "Борис, заказ {number} готов",
        "Москва ждёт вас",
        "Казань ждёт вас",
        "Акция до воскресенья",
    ]
    assert merge_names(forms) == [
        "{name}, заказ {number} готов",
        "{name}, заказ {number} готов",
        "{name} ждёт вас",
        "{name} ждёт вас",
        "Акция до воскресенья",
    ]


def test_template_codes_group_a_mixed_day() -> None:
    texts = [
        "Ксения, ваш заказ 1 готов",
        "Лев, ваш заказ 22 готов",
        "Ваш код 1234",
        "Ваш код 9876",
        "Спасибо за покупку!",
    ]
    codes = template_codes(texts)
    assert list(codes) == [
        "{name}, ваш заказ {number} готов",
        "{name}, ваш заказ {number} готов",
        "Ваш код {number}",
        "Ваш код {number}",
        "Спасибо за покупку!",
    ]


def test_cost_by_template_in_the_report(engine: Engine, settings: Settings) -> None:
    with Session(engine) as session:
        s = Seeder(session)
        portal = s.portal("templates-portal", "Europe/Moscow", None)
        for n, name in enumerate(("Анна", "Борис", "Вера")):
            text = f"{name}, счёт на {n + 1}990 ₽: https://p.ru/{n}x"
            s.add(portal, f"2026-03-10 09:0{n}", "robot", "delivered", segments=2, cost="7.04",
                  delivery=10 * (n + 1), text=text)  # fmt: skip
        s.add(portal, "2026-03-10 10:00", "robot", "undelivered", segments=2, cost="7.04",
              status_code=104, text="Глеб, счёт на 500 ₽: https://p.ru/zz")  # fmt: skip
        for n in range(2):
            s.add(portal, f"2026-03-10 11:0{n}", "card", "delivered", cost="3.52",
                  delivery=5, text=f"Ваш код {n}{n}{n}{n}")  # fmt: skip
        session.commit()
    days = seeded_days(engine)

    report = compute(read_messages(settings.database, days, templates=True), days)

    by_template = {t.template: t.figures for t in report.templates}
    assert list(by_template) == ["{name}, счёт на {number} ₽: {link}", "Ваш код {number}"]
    invoice, code = by_template.values()
    assert (invoice.messages, invoice.segments, invoice.cost) == (4, 8, Decimal("28.16"))
    assert (invoice.delivered, invoice.undelivered, invoice.delivery_rate) == (3, 1, 0.75)
    assert (invoice.median_seconds, invoice.p90_seconds) == (20.0, 28.0)
    assert (code.messages, code.segments, code.cost, code.delivery_rate) == (
        2,
        2,
        Decimal("7.04"),
        1.0,
    )
    assert report.day == DAY
    assert (
        "Dearest template",
        "{name}, счёт на {number} ₽: {link} — 4 messages, 8 segments, 28.16 ₽",
    ) in headline(report)
    page = html.render(report)
    assert "<h2>Cost by template</h2>" in page and "Ваш код {number}" in page


def test_without_texts_the_report_has_no_templates(engine: Engine, settings: Settings) -> None:
    with Session(engine) as session:
        Seeder(session).portal("templates-portal", "Europe/Moscow", None)
    days = seeded_days(engine)
    assert compute(read_messages(settings.database, days), days).templates == ()
