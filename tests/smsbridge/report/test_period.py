"""`period_report`: one portal's figures over any span of its days, by the daily report's code.

A day asked as a period gives the daily report's figures exactly (the seeded day, of every kind,
source, state and cost); a longer period's days each give their own one-day figures.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from report_support import DAY, MOSCOW, VLADIVOSTOK, Seeder, seed
from sqlalchemy import Engine
from sqlmodel import Session

from models import Portal
from sandbox.server import free_port
from smsbridge.config import Settings
from smsbridge.report.daily import daily_reports
from smsbridge.report.days import MAX_DAYS, ReportError
from smsbridge.report.model import DailyReport, DayFigures, Figures
from smsbridge.report.period import last_days, period_report
from smsbridge.runtime import runtime

NOW = datetime(2026, 3, 12, tzinfo=UTC)


def period(settings: Settings, member_id: str, first: date, last: date) -> DailyReport:
    async def run() -> DailyReport:
        async with runtime(settings) as rt:
            return await period_report(rt, member_id, first, last, now=NOW)

    return asyncio.run(run())


def daily(settings: Settings, member_id: str, day: date) -> DailyReport:
    async def run() -> list[DailyReport]:
        async with runtime(settings) as rt:
            return await daily_reports(rt, day, member_id, now=NOW)

    [report] = asyncio.run(run())
    return report


@pytest.fixture
def offline(settings: Settings) -> Settings:
    """No SMS.ru to ask for balances: the daily report's accounts say so, quickly."""
    return settings.model_copy(update={"smsru_api_url": f"http://127.0.0.1:{free_port()}"})


def seed_texts(engine: Engine) -> None:
    """Texts of different costs on the seeded day, one erased by retention (text "")."""
    with Session(engine) as session:
        s = Seeder(session)
        moscow = s.portal("texts-portal", "Europe/Moscow", None)
        for text, cost, segments in (("Скидка 20 % только сегодня!", "7.04", 2), ("", "9.00", 1)):
            s.add(moscow, "2026-03-10 13:00", "campaign", "delivered", cost=cost,
                  segments=segments, delivery=4, text=text)  # fmt: skip
        s.add(moscow, "2026-03-10 13:00", "card", "failed", failure="empty_text", text="")
        session.commit()


@pytest.mark.parametrize("member_id", [MOSCOW, VLADIVOSTOK, "texts-portal"])
def test_a_day_asked_as_a_period_is_the_daily_report(
    engine: Engine, offline: Settings, member_id: str
) -> None:
    seed(engine)
    seed_texts(engine)

    as_period = period(offline, member_id, DAY, DAY)
    as_day = daily(offline, member_id, DAY)

    assert as_period.total.messages > 0 and as_period.top_texts  # the seeded day
    assert (as_period.day, as_period.last) == (DAY, DAY)
    assert as_period.accounts == () and as_day.accounts  # the app's status shows the account
    assert as_period == dataclasses.replace(as_day, accounts=())
    assert as_period.series == (DayFigures(DAY, as_period.total),)


def test_each_day_of_a_period_has_its_own_days_figures(engine: Engine, offline: Settings) -> None:
    seed(engine)  # Moscow: one message on the 9th, 13 on the 10th, one on the 11th

    report = period(offline, MOSCOW, date(2026, 3, 8), date(2026, 3, 11))

    assert [(d.day, d.figures.messages) for d in report.series] == [
        (date(2026, 3, 8), 0),
        (date(2026, 3, 9), 1),
        (date(2026, 3, 10), 13),
        (date(2026, 3, 11), 1),
    ]
    for day in report.series:
        assert day.figures == period(offline, MOSCOW, day.day, day.day).total
    assert report.series[0].figures == Figures(0, 0, 0, 0, 0, 0, None, None, None, 0, 0, 0)
    total = report.total
    assert (total.messages, total.delivered, total.cost) == (15, 7, Decimal("38.72"))
    assert total.cost == sum(d.figures.cost for d in report.series)
    # Every figure over the whole period, not the days' figures put together.
    # 1 1 10 20 30 40 100 s: the p90's rank 5.4 of 0..6 is 40 + 0.4 × (100 − 40)
    assert (total.median_seconds, total.p90_seconds) == (20.0, 64.0)
    assert [(g.kind, g.figures.messages) for g in report.by_kind] == [
        ("transactional", 12),
        ("marketing", 3),
    ]


def test_a_day_is_the_portals_own_across_daylight_saving(engine: Engine, offline: Settings) -> None:
    """Berlin's 29 March 2026 has 23 hours: its 23:30 is 21:30 UTC, still the 29th."""
    with Session(engine) as session:
        s = Seeder(session)
        berlin = s.portal("berlin", "Europe/Berlin", None)
        for local in ("2026-03-29 00:30", "2026-03-29 23:30", "2026-03-30 00:30"):
            s.add(berlin, local, "card", "delivered", cost="1.00", delivery=3)
        session.commit()

    report = period(offline, "berlin", date(2026, 3, 28), date(2026, 3, 30))

    assert [d.figures.messages for d in report.series] == [0, 2, 1]
    assert report.portals[0].end - report.portals[0].start == timedelta(hours=71)


@pytest.mark.parametrize(
    ("first", "last", "words"),
    [
        (DAY, DAY - timedelta(days=1), "the period ends on 2026-03-09 before it starts on "),
        (DAY, DAY + timedelta(days=MAX_DAYS), "has 93 days; at most 92 are reported at once"),
    ],
)
def test_a_period_that_is_not_one_is_refused_in_words(
    engine: Engine, offline: Settings, first: date, last: date, words: str
) -> None:
    seed(engine)
    with pytest.raises(ReportError, match=words):
        period(offline, MOSCOW, first, last)


def test_the_longest_period_and_an_unknown_portal(engine: Engine, offline: Settings) -> None:
    seed(engine)

    longest = period(offline, MOSCOW, DAY, DAY + timedelta(days=MAX_DAYS - 1))

    assert len(longest.series) == MAX_DAYS and longest.total.messages == 14
    with pytest.raises(ReportError, match="no portal nobody is stored"):
        period(offline, "nobody", DAY, DAY)


def test_the_apps_default_is_the_portals_last_week() -> None:
    # 22:00 UTC on the 10th is already the 11th in Moscow
    portal = Portal(id=1, member_id="p", timezone="Europe/Moscow")
    late = datetime(2026, 3, 10, 22, tzinfo=UTC)

    assert last_days(portal, late) == (date(2026, 3, 5), date(2026, 3, 11))
    assert last_days(portal, late, 1) == (date(2026, 3, 11), date(2026, 3, 11))
