"""The costliest texts: sent messages grouped by exact text in the database, a portal's top ten."""

from __future__ import annotations

from decimal import Decimal

from report_support import MOSCOW, VLADIVOSTOK, Seeder, seeded_days
from sqlalchemy import Engine
from sqlmodel import Session

from smsbridge.config import Settings
from smsbridge.report.model import TextCost
from smsbridge.report.texts import TOP_TEXTS, read_top_texts


def test_texts_are_grouped_exactly_and_ranked_by_cost(engine: Engine, settings: Settings) -> None:
    with Session(engine) as session:
        s = Seeder(session)
        moscow = s.portal(MOSCOW, "Europe/Moscow", None)
        vlad = s.portal(VLADIVOSTOK, "Asia/Vladivostok", None)
        order = "Ваш заказ принят"
        for state, cost in (("delivered", "3.52"), ("undelivered", "3.52"), ("sent", None)):
            s.add(moscow, "2026-03-10 10:00", "card", state, cost=cost, text=order)
        s.add(moscow, "2026-03-10 10:00", "card", "delivered", cost="3.52", text=order + " ")
        s.add(moscow, "2026-03-10 11:00", "campaign", "in_transit", segments=3, cost="10.56",
              text="<b>Распродажа</b> & «скидки»")  # fmt: skip
        # Not sent, erased, or on another day: none of them counts.
        s.add(moscow, "2026-03-10 12:00", "card", "failed", failure="refused", send_code=207,
              text=order)  # fmt: skip
        s.add(moscow, "2026-03-10 12:00", "card", "queued", text=order)
        s.add(moscow, "2026-03-10 12:00", "card", "delivered", cost="3.52", text="")
        s.add(moscow, "2026-03-11 00:00", "card", "delivered", cost="99.00", text="завтра")
        # Vladivostok's 10th: 00:30 there is the 9th in Moscow, and still counts for it.
        s.add(vlad, "2026-03-10 00:30", "robot", "delivered", cost="2.00", text=order)
        session.commit()

    texts = read_top_texts(settings.database, seeded_days(engine))

    assert texts == [
        TextCost(MOSCOW, "<b>Распродажа</b> & «скидки»", 1, 3, Decimal("10.56")),
        TextCost(MOSCOW, order, 3, 3, Decimal("7.04")),  # sent without a cost yet counts 0
        TextCost(MOSCOW, order + " ", 1, 1, Decimal("3.52")),  # exact: a space makes another
        TextCost(VLADIVOSTOK, order, 1, 1, Decimal("2.00")),
    ]


def test_a_portals_top_ten_ties_broken_by_the_earliest(engine: Engine, settings: Settings) -> None:
    with Session(engine) as session:
        s = Seeder(session)
        portal = s.portal(MOSCOW, "Europe/Moscow", None)
        for n in range(TOP_TEXTS + 2):  # the same cost each: the earliest stored first
            s.add(portal, "2026-03-10 10:00", "card", "delivered", cost="1.00", text=f"text {n}")
        s.add(portal, "2026-03-10 23:00", "card", "delivered", cost="1.00", segments=2,
              text="text 11")  # fmt: skip
        session.commit()

    texts = read_top_texts(settings.database, seeded_days(engine), top=TOP_TEXTS)

    assert [(t.text, t.messages, t.cost) for t in texts] == [
        ("text 11", 2, Decimal("2.00")),
        *((f"text {n}", 1, Decimal("1.00")) for n in range(9)),
    ]
    assert read_top_texts(settings.database, []) == []
