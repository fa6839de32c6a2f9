"""The daily report over messages seeded into the real database, every figure checked exactly.

Two portals, Moscow (UTC+3) and Vladivostok (UTC+10), report 2026-03-10 (no DST in either).
Messages sit on both sides of each portal's local midnights: the SQL window covers both days,
so only the per-portal day assignment keeps a Moscow message of 23:59:59.999999 on the 9th out.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlmodel import Session, select

from models import Message, Portal
from sandbox.server import free_port
from sandbox.smsru import SmsRuEmulator
from smsbridge.config import Settings
from smsbridge.daily_report import (
    Account,
    DailyReport,
    Failure,
    Figures,
    LongMessages,
    ReportError,
    compute,
    daily_reports,
    empty_frame,
    parse_day,
    portal_day,
    read_messages,
)
from smsbridge.report_html import render
from smsbridge.runtime import runtime
from webhook.outbox import INTERRUPTED

DAY = date(2026, 3, 10)
MOSCOW, VLADIVOSTOK = "moscow-portal", "vladivostok-portal"
REPORT_KEY = "daily-report-key-0001"  # Moscow's own SMS.ru account; Vladivostok uses none
SENT_STATES = ("sent", "in_transit", "delivered", "undelivered")
STATUS = {"sent": 100, "in_transit": 102, "delivered": 103}


@pytest.fixture
def account(smsru: SmsRuEmulator) -> None:
    if not smsru.knows(REPORT_KEY):
        smsru.add_account(REPORT_KEY, daily_limit=500)
    smsru.set_balance(REPORT_KEY, Decimal("123.45"))


class Seeder:
    """Messages with the states, times, codes and costs the sender and the status loop write."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.numbers = count(1)

    def portal(self, member_id: str, zone: str, key: str | None) -> Portal:
        portal = Portal(member_id=member_id, timezone=zone, smsru_api_id=key)
        self.session.add(portal)
        self.session.commit()
        self.session.refresh(portal)
        return portal

    def add(
        self,
        portal: Portal,
        local: str,
        source: str,
        state: str,
        *,
        segments: int = 1,
        cost: str | None = None,
        delivery: float | None = None,
        send_code: int | None = None,
        status_code: int | None = None,
        error: str | None = None,
    ) -> None:
        """A message accepted at `local` (the portal's wall clock, microseconds allowed)."""
        n = next(self.numbers)
        accepted = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(portal.timezone))
        sent = state in SENT_STATES
        sent_at = accepted + timedelta(seconds=2) if sent else None
        final_at = None
        if delivery is not None:
            assert sent_at is not None
            final_at = sent_at + timedelta(seconds=delivery)
        elif state in ("undelivered", "failed"):
            final_at = accepted + timedelta(seconds=3)
        assert portal.id is not None
        self.session.add(
            Message(
                portal_id=portal.id,
                message_id=f"m{n}",
                provider_code="smsru",
                kind="marketing" if source == "campaign" else "transactional",
                source=source,
                recipient=f"+7925000{n:04d}",
                recipient_raw=f"+7925000{n:04d}",
                text="текст",
                encoding="ucs2",
                segments=segments,
                state=state,
                sms_id=f"000{n}-1" if sent or send_code else None,
                send_code=100 if sent else send_code,
                status_code=status_code or STATUS.get(state),
                error=error,
                cost=Decimal(cost) if cost else None,
                accepted_at=accepted,
                sent_at=sent_at,
                final_at=final_at,
            )
        )


def seed(engine: Engine) -> None:
    with Session(engine) as session:
        s = Seeder(session)
        moscow = s.portal(MOSCOW, "Europe/Moscow", REPORT_KEY)
        vlad = s.portal(VLADIVOSTOK, "Asia/Vladivostok", None)
        # Moscow, on the day: card
        s.add(moscow, "2026-03-10 09:00", "card", "delivered", cost="3.52", delivery=10)
        s.add(moscow, "2026-03-10 09:05", "card", "delivered", segments=2, cost="7.04", delivery=20)
        s.add(moscow, "2026-03-10 00:00:00.000000", "card", "delivered", delivery=30)  # no cost
        s.add(moscow, "2026-03-10 10:00", "card", "failed", error="message_to: not a phone number")
        s.add(moscow, "2026-03-10 11:00", "card", "queued")
        s.add(moscow, "2026-03-10 23:59:59.999999", "card", "failed", error=INTERRUPTED)
        # Moscow, on the day: robot
        s.add(moscow, "2026-03-10 12:00", "robot", "delivered", cost="3.52", delivery=40)
        s.add(moscow, "2026-03-10 12:01", "robot", "undelivered", cost="3.52", status_code=104)
        refused = "SMS.ru 207: На этот номер нет маршрута"
        s.add(moscow, "2026-03-10 12:02", "robot", "failed", send_code=207, error=refused)
        s.add(moscow, "2026-03-10 12:03", "robot", "failed", send_code=207, error=refused)
        # Moscow, on the day: campaign
        s.add(moscow, "2026-03-10 15:00", "campaign", "delivered", segments=3, cost="10.56",
              delivery=100)  # fmt: skip
        s.add(moscow, "2026-03-10 15:00", "campaign", "sent", segments=2)
        s.add(moscow, "2026-03-10 15:00", "campaign", "in_transit", cost="3.52")
        # Moscow, other days (the first one is inside the SQL window: Vladivostok's day)
        s.add(moscow, "2026-03-09 23:59:59.999999", "card", "delivered", cost="3.52", delivery=1)
        s.add(moscow, "2026-03-11 00:00:00", "card", "delivered", cost="3.52", delivery=1)
        # Vladivostok, on the day (00:30 there is 17:30 of the 9th in Moscow)
        s.add(vlad, "2026-03-10 00:30", "robot", "delivered", cost="2.00", delivery=5)
        s.add(vlad, "2026-03-10 08:00", "robot", "undelivered", segments=2, cost="4.00",
              status_code=150)  # fmt: skip
        s.add(vlad, "2026-03-10 09:00", "card", "failed", send_code=209, error="SMS.ru 209: stop")
        s.add(vlad, "2026-03-10 23:59:59", "card", "delivered", cost="2.00", delivery=15)
        # Vladivostok, the 11th there (14:00 and 15:00 UTC on the 10th, inside the SQL window)
        s.add(vlad, "2026-03-11 00:00:00", "card", "delivered", cost="2.00", delivery=1)
        s.add(vlad, "2026-03-11 01:00", "card", "delivered", cost="2.00", delivery=1)
        session.commit()


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


@pytest.mark.usefixtures("account")
def test_failures_long_messages_and_accounts(engine: Engine, settings: Settings) -> None:
    seed(engine)

    report = report_for(settings)

    assert report.failures == (
        Failure(MOSCOW, "failed", 207, "На этот номер нет маршрута для доставки сообщений", 2),
        Failure(MOSCOW, "failed", None, "invalid phone number", 1),
        Failure(MOSCOW, "failed", None, "send interrupted, outcome unknown", 1),
        Failure(MOSCOW, "undelivered", 104, "Не может быть доставлено: время жизни истекло", 1),
        Failure(
            VLADIVOSTOK,
            "undelivered",
            150,
            "Не может быть доставлено: не найден маршрут на данный номер",
            1,
        ),
        Failure(
            VLADIVOSTOK,
            "failed",
            209,
            "Вы добавили этот номер (или один из номеров) в стоп-лист",
            1,
        ),
    )
    # Moscow: 31.68 ₽ over 9 costed segments = 3.52 a segment; Vladivostok 8.00 / 4 = 2.00.
    assert report.long_messages == (
        LongMessages(MOSCOW, messages=3, segments=7, extra_segments=4, saving=Decimal("14.08")),
        LongMessages(VLADIVOSTOK, messages=1, segments=2, extra_segments=1, saving=Decimal("2.00")),
        LongMessages(None, messages=4, segments=9, extra_segments=5, saving=Decimal("16.08")),
    )
    assert [(b.label, b.messages) for b in report.delivery_histogram if b.messages] == [
        ("5–10 s", 1),
        ("10–30 s", 3),
        ("30 s–1 min", 2),
        ("1–2 min", 1),
    ]
    assert report.accounts == (
        Account((MOSCOW,), False, Decimal("123.45"), 500, 0, None),
        Account((VLADIVOSTOK,), True, None, None, None, "no SMS.ru key"),
    )


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
    with pytest.raises(ReportError, match="no portal nobody is stored"):
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


def test_the_read_goes_in_chunks_and_tells_its_progress(engine: Engine, settings: Settings) -> None:
    seed(engine)
    now = datetime(2026, 3, 12, tzinfo=UTC)
    with Session(engine) as session:
        days = [portal_day(p, DAY, now) for p in session.exec(select(Portal).order_by(Portal.id))]
    seen: list[tuple[int, int]] = []

    chunked = read_messages(
        settings.database, days, chunk_rows=7, progress=lambda *a: seen.append(a)
    )
    whole = read_messages(settings.database, days)

    # The window runs from Vladivostok's midnight to Moscow's: 17 messages of the day and the
    # three outside a portal's own day but inside the other's.
    assert seen == [(7, 20), (14, 20), (20, 20)]
    assert chunked.equals(whole)
    assert compute(chunked, days).total == compute(whole, days).total


def test_a_day_without_messages() -> None:
    now = datetime(2026, 3, 12, tzinfo=UTC)
    day = portal_day(Portal(id=1, member_id="p", timezone="Europe/Moscow"), DAY, now)

    report = compute(empty_frame(), [day])

    assert report.total == Figures(0, 0, 0, 0, 0, 0, None, None, None, 0, Decimal(0), 0)
    assert report.failures == ()
    assert report.long_messages[-1] == LongMessages(None, 0, 0, 0, None)
    assert sum(b.messages for b in report.delivery_histogram) == 0


@pytest.mark.parametrize("text", ["2026-3-10", "10.03.2026", "2026-02-30", "2026-W11-2", ""])
def test_a_malformed_day_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_day(text)


def test_an_unknown_time_zone_names_the_portal() -> None:
    portal = Portal(id=1, member_id="far-away", timezone="Mars/Olympus")
    with pytest.raises(ReportError, match="far-away has an unknown time zone 'Mars/Olympus'"):
        portal_day(portal, DAY, datetime(2026, 3, 12, tzinfo=UTC))
