"""The report's wording, shared by the HTML page, the markdown artifact and the command."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from report_support import DAY

from models import Portal
from smsbridge.report.days import portal_day
from smsbridge.report.figures import compute
from smsbridge.report.load import empty_frame
from smsbridge.report.model import Account, RefusalCount, TextCost
from smsbridge.report.text import (
    account_text,
    headline,
    money,
    percent,
    refusals_text,
    seconds,
)


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (Decimal("3.5"), "3.50 ₽"),
        (Decimal("12.5600"), "12.56 ₽"),
        (Decimal("0.0035"), "0.0035 ₽"),  # sums of Numeric(12, 4) keep their ten-thousandths
        (Decimal("100000"), "100,000.00 ₽"),
        (None, "—"),
    ],
)
def test_money(amount: Decimal | None, shown: str) -> None:
    assert money(amount) == shown


def test_rates_and_durations_say_when_there_are_none() -> None:
    assert (percent(0.5), percent(1 / 3), percent(None)) == ("50.0 %", "33.3 %", "—")
    assert (seconds(21.0), seconds(28.2), seconds(None)) == ("21 s", "28.2 s", "—")


def test_an_account_shows_its_figures_or_its_problem() -> None:
    fine = Account(("p",), False, Decimal("123.45"), 500, 1234, None)
    unlimited = Account(("p",), True, Decimal("1"), None, None, None)
    broken = Account(("p",), True, None, None, None, "no SMS.ru key")

    assert account_text(fine) == "balance 123.45 ₽, limit 500, used today 1,234"
    assert account_text(unlimited) == "balance 1.00 ₽, no daily limit, used today ?"
    assert account_text(broken) == "no SMS.ru key"


def test_the_headline_of_an_empty_day() -> None:
    now = datetime(2026, 3, 12, tzinfo=UTC)
    day = portal_day(Portal(id=1, member_id="p", timezone="Europe/Moscow"), DAY, now)
    account = Account(("p",), True, None, None, None, "no SMS.ru key")

    rows = dict(headline(compute(empty_frame(), [day], [account])))

    assert rows["Day"] == "2026-03-10 (Europe/Moscow)"
    assert rows["Messages"] == "0"
    assert rows["Delivery rate (of final outcomes)"] == "—"
    assert rows["Time to delivery"] == "median —, p90 —"
    assert rows["Cost"] == "0.00 ₽ (0 sent without a cost yet)"
    assert rows["SMS.ru shared account (p)"] == "no SMS.ru key"
    assert rows["Refused by the message policy"] == "none"


def test_the_headline_names_the_most_expensive_text() -> None:
    now = datetime(2026, 3, 12, tzinfo=UTC)
    days = [
        portal_day(Portal(id=n, member_id=m, timezone="Europe/Moscow"), DAY, now)
        for n, m in ((1, "a"), (2, "b"))
    ]
    texts = [
        TextCost("a", "Ваш заказ\nпринят", 3, 3, Decimal("10.56")),
        TextCost("b", "Скидки " * 20, 2, 6, Decimal("21.12")),  # b's first: the costliest of all
    ]

    rows = dict(headline(compute(empty_frame(), days, top_texts=texts)))

    assert rows["Most expensive text"] == (
        "«Скидки Скидки Скидки Скидки Скидки Скидки Скидки Скидки Ски…»: "
        "2 messages, 6 segments, 21.12 ₽"
    )
    assert "Most expensive text" not in dict(headline(compute(empty_frame(), days)))


def test_refusals_are_told_by_reason_in_plain_words_with_the_kinds_they_hit() -> None:
    refusals = (
        RefusalCount("a", "marketing", "no_consent", 2),
        RefusalCount("a", "marketing", "stop_listed", 1),
        RefusalCount("b", "transactional", "stop_listed", 1_500),
        RefusalCount("b", "transactional", "too_frequent", 1),
        RefusalCount("b", "marketing", "stop_listed", 2),
    )

    assert refusals_text(refusals) == (
        "1,506: 1,503 number on the stop list (marketing 3, transactional 1,500), "
        "2 no consent to marketing (marketing 2), "
        "1 too many messages to the number (transactional 1)"
    )
    assert refusals_text(()) == "none"
