"""The analytics' words: both languages say everything, numbers the Russian or English way."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from clients.smsru.codes import MEANINGS
from smsbridge.report.model import FailureCount
from smsbridge.report.wording import (
    CODES_EN,
    LABELS,
    NAMES,
    REASONS,
    day,
    duration,
    failure_words,
    language,
    moment,
    money,
    number,
    percent,
    seconds,
    short_day,
)
from smsbridge.rules.origin import Kind, Source
from smsbridge.status.failures import Failure


def test_both_languages_word_the_same_things() -> None:
    assert LABELS["ru"].keys() == LABELS["en"].keys()
    assert NAMES["ru"].keys() == NAMES["en"].keys() >= {*Kind, *Source, "failed", "undelivered"}
    assert REASONS["ru"].keys() == REASONS["en"].keys() == set(Failure)
    assert CODES_EN.keys() == MEANINGS.keys()  # every code SMS.ru words has English words


@pytest.mark.parametrize(
    ("failure", "ru", "en"),
    [
        (
            FailureCount("p", "failed", 207, "…", 1),
            "На этот номер нет маршрута для доставки сообщений",
            "no route to deliver messages to this number",
        ),
        (
            FailureCount("p", "undelivered", 104, "…", 1),
            "Не может быть доставлено: время жизни истекло",
            "not delivered: its lifetime expired",
        ),
        (
            FailureCount("p", "failed", 999, "…", 1),
            "Неизвестный код 999",
            "unknown SMS.ru code 999",
        ),
        (
            FailureCount("p", "failed", None, "…", 1, "stop_listed"),
            "номер в стоп-листе",
            "number on the stop list",
        ),
        (
            FailureCount("p", "failed", None, "…", 1, None),
            "другая ошибка с нашей стороны",
            "other failure of ours",
        ),
    ],
)
def test_failures_in_plain_words(failure: FailureCount, ru: str, en: str) -> None:
    assert (failure_words(failure, "ru"), failure_words(failure, "en")) == (ru, en)


def test_figures_the_russian_and_the_english_way() -> None:
    assert (number(1234567, "ru"), number(1234567, "en")) == ("1\u00a0234\u00a0567", "1,234,567")
    assert (money(Decimal("1234.5"), "ru"), money(Decimal("1234.5"), "en")) == (
        "1\u00a0234,50 ₽",
        "1,234.50 ₽",
    )
    assert (money(None, "ru"), percent(None, "en"), seconds(None, "ru")) == ("—", "—", "—")
    assert (percent(0.6154, "ru"), percent(0.6154, "en")) == ("61,5 %", "61.5 %")
    assert (seconds(28.25, "ru"), seconds(28.25, "en")) == ("28,25 с", "28.25 s")
    assert [duration(b, "ru") for b in ("5–10 s", "30 s–1 min", "≥ 6 h")] == [
        "5–10 с",
        "30 с–1 мин",
        "≥ 6 ч",
    ]
    assert (day(date(2026, 3, 1), "ru"), day(date(2026, 3, 1), "en")) == (
        "1 марта 2026",
        "1 March 2026",
    )
    assert (short_day(date(2026, 3, 1), "ru"), short_day(date(2026, 3, 1), "en")) == (
        "01.03",
        "1 Mar",
    )


@pytest.mark.parametrize(
    ("asked", "lang"), [("en", "en"), ("EN-us", "en"), ("ru", "ru"), ("de", "ru"), (None, "ru")]
)
def test_english_when_asked_else_russian(asked: str | None, lang: str) -> None:
    assert language(asked) == lang


def test_a_moment_in_the_portals_own_time() -> None:
    utc = datetime(2026, 11, 28, 22, 5, tzinfo=UTC)  # already the 29th in Moscow
    assert moment(utc, "ru", "Europe/Moscow") == "29 ноября 2026, 01:05 (Europe/Moscow)"
    assert moment(utc, "en", "Asia/Vladivostok") == "29 November 2026, 08:05 (Asia/Vladivostok)"
