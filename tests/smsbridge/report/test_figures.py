"""The figures `compute` makes of a frame: failures by code, long messages, the histogram.

The frame is the seeded day (tests/report_support.py) as `read_messages` reads it from the real
database; the totals per portal and source are checked through `daily_reports` in test_daily.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from report_support import DAY, MOSCOW, VLADIVOSTOK, Seeder, seed, seeded_days
from sqlalchemy import Engine
from sqlmodel import Session

from models import Portal
from smsbridge.config import Settings
from smsbridge.report.days import portal_day
from smsbridge.report.figures import compute
from smsbridge.report.load import empty_frame, read_messages
from smsbridge.report.model import FailureCount, Figures, LongMessages
from smsbridge.status.failures import Failure


def test_failures_long_messages_and_the_histogram(engine: Engine, settings: Settings) -> None:
    seed(engine)
    days = seeded_days(engine)

    report = compute(read_messages(settings.database, days), days)

    assert report.failures == (
        FailureCount(MOSCOW, "failed", 207, "На этот номер нет маршрута для доставки сообщений", 2),
        FailureCount(MOSCOW, "failed", None, "invalid phone number", 1, "invalid_number"),
        FailureCount(MOSCOW, "failed", None, "send interrupted, outcome unknown", 1, "interrupted"),
        FailureCount(
            MOSCOW, "undelivered", 104, "Не может быть доставлено: время жизни истекло", 1
        ),
        FailureCount(
            VLADIVOSTOK,
            "undelivered",
            150,
            "Не может быть доставлено: не найден маршрут на данный номер",
            1,
        ),
        FailureCount(
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
    assert report.accounts == ()  # asked by `daily_reports`, not computed


def test_a_failure_of_ours_is_told_by_its_kind_not_its_text(
    engine: Engine, settings: Settings
) -> None:
    ours = [f for f in Failure if f is not Failure.REFUSED]  # a refusal has SMS.ru's code
    with Session(engine) as session:
        s = Seeder(session)
        portal = s.portal(MOSCOW, "Europe/Moscow", None)
        for failure in ours:  # texts that match none of the old wordings
            s.add(portal, "2026-03-10 10:00", "card", "failed", failure=failure, error="reworded")
        s.add(portal, "2026-03-10 10:00", "card", "failed", error="message_to: of no kind")
        session.commit()
    days = seeded_days(engine)

    report = compute(read_messages(settings.database, days), days)

    assert [(f.code, f.meaning, f.messages) for f in report.failures] == [
        (None, "invalid phone number", 1),
        (None, "empty text", 1),
        (None, "text longer than 8 SMS", 1),
        (None, "send interrupted, outcome unknown", 1),
        (None, "SMS.ru unavailable for too long", 1),
        (None, "no result in SMS.ru's reply", 1),
        (None, "number on the stop list", 1),
        (None, "no consent to marketing", 1),
        (None, "duplicate of a recent message", 1),
        (None, "too many messages to the number", 1),
        (None, "other failure of ours", 1),
    ]
    assert [f.reason for f in report.failures] == [*ours, None]  # the kind, for other wordings


def test_refusals_are_counted_by_portal_kind_and_reason(engine: Engine, settings: Settings) -> None:
    with Session(engine) as session:
        s = Seeder(session)
        portal = s.portal(MOSCOW, "Europe/Moscow", None)
        for _ in range(3):
            s.add(portal, "2026-03-10 10:00", "campaign", "failed", failure="stop_listed")
        s.add(portal, "2026-03-10 10:00", "campaign", "failed", failure="no_consent")
        s.add(portal, "2026-03-10 11:00", "robot", "failed", failure="duplicate")
        s.add(  # SMS.ru's own stop-list refusal counts too: its code says which list
            portal, "2026-03-10 11:00", "card", "failed", failure="stop_listed", send_code=215
        )
        s.add(portal, "2026-03-10 11:00", "card", "failed", failure="invalid_number")  # no refusal
        session.commit()
    days = seeded_days(engine)

    report = compute(read_messages(settings.database, days), days)

    assert [(r.kind, r.reason, r.messages) for r in report.refusals] == [
        ("marketing", "stop_listed", 3),
        ("marketing", "no_consent", 1),
        ("transactional", "stop_listed", 1),  # ties: in the order of the kinds' declaration
        ("transactional", "duplicate", 1),
    ]


def test_a_day_without_messages() -> None:
    now = datetime(2026, 3, 12, tzinfo=UTC)
    day = portal_day(Portal(id=1, member_id="p", timezone="Europe/Moscow"), DAY, now)

    report = compute(empty_frame(), [day])

    assert report.total == Figures(0, 0, 0, 0, 0, 0, None, None, None, 0, Decimal(0), 0)
    assert report.failures == ()
    assert report.long_messages[-1] == LongMessages(None, 0, 0, 0, None)
    assert sum(b.messages for b in report.delivery_histogram) == 0
