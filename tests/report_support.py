"""What the report tests share: a seeded day of two portals, and what a self-contained page is.

Two portals, Moscow (UTC+3) and Vladivostok (UTC+10), report 2026-03-10 (no DST in either).
Messages sit on both sides of each portal's local midnights: the SQL window covers both days,
so only the per-portal day assignment keeps a Moscow message of 23:59:59.999999 on the 9th out.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import count
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session, select

from models import Message, Portal
from smsbridge.report.days import PortalDay, portal_day
from webhook.outbox import INTERRUPTED

DAY = date(2026, 3, 10)
MOSCOW, VLADIVOSTOK = "moscow-portal", "vladivostok-portal"
REPORT_KEY = "daily-report-key-0001"  # Moscow's own SMS.ru account; Vladivostok uses none
SENT_STATES = ("sent", "in_transit", "delivered", "undelivered")
STATUS = {"sent": 100, "in_transit": 102, "delivered": 103}


class Seeder:
    """Messages with the states, times, codes and costs the sender and the status loop write."""

    def __init__(self, session: Session, first: int = 1) -> None:
        self.session = session
        self.numbers = count(first)  # message_ids m1, m2…: start past those of an earlier Seeder

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
        failure: str | None = None,
        text: str = "текст",
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
                text=text,
                encoding="ucs2",
                segments=segments,
                state=state,
                sms_id=f"000{n}-1" if sent or send_code else None,
                send_code=100 if sent else send_code,
                status_code=status_code or STATUS.get(state),
                error=error,
                failure=failure,
                cost=Decimal(cost) if cost else None,
                accepted_at=accepted,
                sent_at=sent_at,
                final_at=final_at,
            )
        )


def seed(engine: Engine) -> None:
    """17 messages on the day (13 in Moscow, 4 in Vladivostok) and 5 around it."""
    with Session(engine) as session:
        s = Seeder(session)
        moscow = s.portal(MOSCOW, "Europe/Moscow", REPORT_KEY)
        vlad = s.portal(VLADIVOSTOK, "Asia/Vladivostok", None)
        # Moscow, on the day: card
        s.add(moscow, "2026-03-10 09:00", "card", "delivered", cost="3.52", delivery=10)
        s.add(moscow, "2026-03-10 09:05", "card", "delivered", segments=2, cost="7.04", delivery=20)
        s.add(moscow, "2026-03-10 00:00:00.000000", "card", "delivered", delivery=30)  # no cost
        s.add(moscow, "2026-03-10 10:00", "card", "failed", failure="invalid_number",
              error="message_to: not a phone number")  # fmt: skip
        s.add(moscow, "2026-03-10 11:00", "card", "queued")
        s.add(moscow, "2026-03-10 23:59:59.999999", "card", "failed", failure="interrupted",
              error=INTERRUPTED)  # fmt: skip
        # Moscow, on the day: robot
        s.add(moscow, "2026-03-10 12:00", "robot", "delivered", cost="3.52", delivery=40)
        s.add(moscow, "2026-03-10 12:01", "robot", "undelivered", cost="3.52", status_code=104)
        refused = "SMS.ru 207: На этот номер нет маршрута"
        for local in ("2026-03-10 12:02", "2026-03-10 12:03"):
            s.add(moscow, local, "robot", "failed", send_code=207, failure="refused", error=refused)
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
        s.add(vlad, "2026-03-10 09:00", "card", "failed", send_code=209, failure="refused",
              error="SMS.ru 209: stop")  # fmt: skip
        s.add(vlad, "2026-03-10 23:59:59", "card", "delivered", cost="2.00", delivery=15)
        # Vladivostok, the 11th there (14:00 and 15:00 UTC on the 10th, inside the SQL window)
        s.add(vlad, "2026-03-11 00:00:00", "card", "delivered", cost="2.00", delivery=1)
        s.add(vlad, "2026-03-11 01:00", "card", "delivered", cost="2.00", delivery=1)
        session.commit()


REFUSALS_TEXT = (
    "4: 2 number on the stop list (marketing 1, transactional 1), 1 no consent to marketing "
    "(marketing 1), 1 duplicate of a recent message (transactional 1)"
)


def seed_refusals(engine: Engine) -> None:
    """A portal of its own whose day had 4 messages refused by the policy (REFUSALS_TEXT)."""
    with Session(engine) as session:
        s = Seeder(session)
        portal = s.portal("refusing-portal", "Europe/Moscow", None)
        s.add(portal, "2026-03-10 10:00", "campaign", "failed", failure="stop_listed")
        s.add(portal, "2026-03-10 10:00", "campaign", "failed", failure="no_consent")
        s.add(portal, "2026-03-10 11:00", "robot", "failed", failure="duplicate")
        s.add(portal, "2026-03-10 11:00", "card", "failed", failure="stop_listed", send_code=215)
        s.add(portal, "2026-03-10 12:00", "card", "delivered", delivery=5)
        session.commit()


def seeded_days(engine: Engine) -> list[PortalDay]:
    """The seeded portals' days of DAY, in the order the report takes them."""
    now = datetime(2026, 3, 12, tzinfo=UTC)
    with Session(engine) as session:
        return [portal_day(p, DAY, now) for p in session.exec(select(Portal).order_by(Portal.id))]


def assert_self_contained(page: str) -> None:
    lowered = page.lower()
    for outside in ("http://", "https://", "<script", "<link", "src=", "url(", "@import"):
        assert outside not in lowered, outside
    assert "<svg" in page  # the charts are drawn inline
