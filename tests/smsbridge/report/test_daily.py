"""`daily_reports`, the whole report as the flow and the command make it, over the seeded day
(tests/report_support.py): every figure checked exactly, through the real database and SMS.ru."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import SecretStr
from report_support import DAY, MOSCOW, REPORT_KEY, VLADIVOSTOK, Seeder, seed
from sqlalchemy import Engine
from sqlmodel import Session, select

from models import Portal
from sandbox.server import free_port
from sandbox.smsru import SmsRuEmulator
from smsbridge.config import Settings
from smsbridge.portals.lookup import PortalNotFound
from smsbridge.report.daily import daily_reports
from smsbridge.report.html import render
from smsbridge.report.model import DailyReport, Figures
from smsbridge.runtime import runtime


@pytest.fixture
def account(smsru: SmsRuEmulator) -> None:
    if not smsru.knows(REPORT_KEY):
        smsru.add_account(REPORT_KEY, daily_limit=500)
    smsru.set_balance(REPORT_KEY, Decimal("123.45"))


def report_for(settings: Settings, day: date | None = DAY, **options: object) -> DailyReport:
    reports = make_reports(settings, day, **options)
    assert len(reports) == 1
    return reports[0]


def make_reports(settings: Settings, day: date | None, **options: object) -> list[DailyReport]:
    async def run() -> list[DailyReport]:
        async with runtime(settings) as rt:
            return await daily_reports(rt, day, **options)  # type: ignore[arg-type]

    return asyncio.run(run())


@pytest.mark.usefixtures("account")
def test_every_figure_of_a_seeded_day(engine: Engine, settings: Settings) -> None:
    seed(engine)

    report = report_for(settings)

    assert report.day == DAY
    assert [(p.member_id, p.start, p.end) for p in report.portals] == [
        (MOSCOW, datetime(2026, 3, 9, 21, tzinfo=UTC), datetime(2026, 3, 10, 21, tzinfo=UTC)),
        (VLADIVOSTOK, datetime(2026, 3, 9, 14, tzinfo=UTC), datetime(2026, 3, 10, 14, tzinfo=UTC)),
    ]
    # 17 messages: 7 delivered (10, 20, 30, 40, 100 s in Moscow; 5, 15 s in Vladivostok)
    assert report.total == Figures(
        messages=17,
        sent=11,
        delivered=7,
        undelivered=2,
        failed=5,
        pending=3,
        delivery_rate=7 / 14,
        median_seconds=20.0,
        p90_seconds=64.0,  # rank 5.4 of 0..6: 40 + 0.4 × (100 − 40)
        segments=22,
        cost=Decimal("39.68"),
        without_cost=2,
    )
    by_portal = {g.member_id: g.figures for g in report.by_portal}
    assert by_portal[MOSCOW] == Figures(
        13, 8, 5, 1, 4, 3, 5 / 10, 30.0, 76.0, 17, Decimal("31.68"), 2
    )
    assert by_portal[VLADIVOSTOK] == Figures(
        4, 3, 2, 1, 1, 0, 2 / 4, 10.0, 14.0, 5, Decimal("8"), 0
    )
    by_source = {(g.member_id, g.kind, g.source): g.figures for g in report.by_source}
    assert by_source == {
        (MOSCOW, "transactional", "card"): Figures(
            6, 3, 3, 0, 2, 1, 3 / 5, 20.0, 28.0, 7, Decimal("10.56"), 1
        ),
        (MOSCOW, "transactional", "robot"): Figures(
            4, 2, 1, 1, 2, 0, 1 / 4, 40.0, 40.0, 4, Decimal("7.04"), 0
        ),
        (MOSCOW, "marketing", "campaign"): Figures(
            3, 3, 1, 0, 0, 2, 1.0, 100.0, 100.0, 6, Decimal("14.08"), 1
        ),
        (VLADIVOSTOK, "transactional", "card"): Figures(
            2, 1, 1, 0, 1, 0, 1 / 2, 15.0, 15.0, 2, Decimal("2"), 0
        ),
        (VLADIVOSTOK, "transactional", "robot"): Figures(
            2, 2, 1, 1, 0, 0, 1 / 2, 5.0, 5.0, 3, Decimal("6"), 0
        ),
    }


def test_an_unreachable_smsru_leaves_the_figures(engine: Engine, settings: Settings) -> None:
    seed(engine)
    nowhere = settings.model_copy(
        update={
            "smsru_api_url": f"http://127.0.0.1:{free_port()}",
            "smsru_api_id": SecretStr("global-key-0000"),
        }
    )

    report = report_for(nowhere)

    assert report.total.messages == 17
    assert [a.member_ids for a in report.accounts] == [(MOSCOW,), (VLADIVOSTOK,)]
    assert [a.shared for a in report.accounts] == [False, True]
    for account in report.accounts:
        assert account.balance is None and account.problem
        assert account.problem.startswith("unavailable: SMS.ru my/balance: ConnectError")
        assert "global-key-0000" not in account.problem
    page = render(report)
    assert page.count("unavailable: SMS.ru my/balance: ConnectError") == 4  # headline, table
    assert "global-key-0000" not in page


def test_the_page_names_portals_by_domain_and_money_in_roubles(
    engine: Engine, settings: Settings
) -> None:
    seed(engine)
    with Session(engine) as session:
        moscow = session.exec(select(Portal).where(Portal.member_id == MOSCOW)).one()
        moscow.domain = "shop.bitrix24.ru"
        session.add(moscow)
        session.commit()
    nowhere = settings.model_copy(update={"smsru_api_url": f"http://127.0.0.1:{free_port()}"})

    page = render(report_for(nowhere))

    assert "<td>shop.bitrix24.ru</td>" in page
    assert f"<td>{MOSCOW}</td>" not in page  # a portal with a domain is known by it
    assert f"<td>{VLADIVOSTOK}</td>" in page  # one without keeps its member_id
    assert "<td>portal&#x27;s own account</td>" in page and "<td>shared account</td>" in page
    assert "<td>SMSRU_API_ID</td>" not in page and "RUB" not in page
    assert " ₽</td>" in page
    assert "max-width:1360px" in page and '<div class="wide"><table>' in page


def test_the_page_lists_each_portals_costliest_texts(engine: Engine, settings: Settings) -> None:
    seed(engine)
    with Session(engine) as session:
        s = Seeder(session, first=100)
        vlad = session.exec(select(Portal).where(Portal.member_id == VLADIVOSTOK)).one()
        s.add(vlad, "2026-03-10 10:00", "card", "delivered", cost="9.99", delivery=1,
              text="<i>Акция</i>")  # fmt: skip
        session.commit()
    nowhere = settings.model_copy(update={"smsru_api_url": f"http://127.0.0.1:{free_port()}"})

    report = report_for(nowhere)

    assert [(t.member_id, t.text, t.messages, t.segments, t.cost) for t in report.top_texts] == [
        (MOSCOW, "текст", 8, 12, Decimal("31.68")),
        (VLADIVOSTOK, "<i>Акция</i>", 1, 1, Decimal("9.99")),
        (VLADIVOSTOK, "текст", 3, 4, Decimal("8")),
    ]
    page = render(report)
    assert "<h2>The most expensive texts</h2>" in page
    assert '<td>&lt;i&gt;Акция&lt;/i&gt;</td><td class="n">1</td>' in page
    assert "<i>Акция" not in page


@pytest.mark.usefixtures("account")
def test_one_portal_by_member_id(engine: Engine, settings: Settings) -> None:
    seed(engine)

    report = report_for(settings, member_id=VLADIVOSTOK)

    assert [p.member_id for p in report.portals] == [VLADIVOSTOK]
    assert (report.total.messages, report.total.delivered, report.total.cost) == (
        4,
        2,
        Decimal("8"),
    )
    assert {f.member_id for f in report.failures} == {VLADIVOSTOK}
    with pytest.raises(PortalNotFound, match="no portal nobody is stored"):
        make_reports(settings, DAY, member_id="nobody")


@pytest.mark.usefixtures("account")
def test_without_a_day_each_portal_reports_its_own_yesterday(
    engine: Engine, settings: Settings
) -> None:
    seed(engine)
    # 20:00 UTC on the 10th: 23:00 of the 10th in Moscow, 06:00 of the 11th in Vladivostok.
    now = datetime(2026, 3, 10, 20, tzinfo=UTC)

    reports = make_reports(settings, None, now=now)

    assert [(r.day, [p.member_id for p in r.portals]) for r in reports] == [
        (date(2026, 3, 9), [MOSCOW]),
        (date(2026, 3, 10), [VLADIVOSTOK]),
    ]
    moscow_9th, vladivostok_10th = reports
    assert moscow_9th.total.messages == 1  # 23:59:59.999999 on the 9th
    assert vladivostok_10th.total.messages == 4
    assert [a.member_ids for a in moscow_9th.accounts] == [(MOSCOW,)]
