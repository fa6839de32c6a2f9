"""Which day a report covers: the portal's own calendar day, as UTC instants."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from report_support import DAY

from models import Portal
from smsbridge.report.days import ReportError, parse_day, portal_day, portal_days


def test_without_a_day_it_is_the_portals_own_yesterday() -> None:
    # 20:00 UTC on the 10th: 23:00 of the 10th in Moscow, 06:00 of the 11th in Vladivostok.
    now = datetime(2026, 3, 10, 20, tzinfo=UTC)
    moscow = Portal(id=1, member_id="m", timezone="Europe/Moscow")
    vladivostok = Portal(id=2, member_id="v", timezone="Asia/Vladivostok")

    assert portal_day(moscow, None, now).day == date(2026, 3, 9)
    far_east = portal_day(vladivostok, None, now)
    assert far_east.day == DAY
    assert (far_east.start, far_east.end) == (
        datetime(2026, 3, 9, 14, tzinfo=UTC),
        datetime(2026, 3, 10, 14, tzinfo=UTC),
    )


@pytest.mark.parametrize("text", ["2026-3-10", "10.03.2026", "2026-02-30", "2026-W11-2", ""])
def test_a_malformed_day_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_day(text)


def test_an_unknown_time_zone_names_the_portal() -> None:
    portal = Portal(id=1, member_id="far-away", timezone="Mars/Olympus")
    with pytest.raises(ReportError, match="far-away has an unknown time zone 'Mars/Olympus'"):
        portal_day(portal, DAY, datetime(2026, 3, 12, tzinfo=UTC))


def test_today_and_yesterday_are_the_portals_own() -> None:
    """22:41 UTC is already tomorrow in Moscow: `today` is the portal's date, not the machine's."""
    portal = Portal(id=1, member_id="p", timezone="Europe/Moscow")
    late_evening_utc = datetime(2026, 3, 11, 22, 41, tzinfo=UTC)
    assert portal_day(portal, parse_day("today"), late_evening_utc).day.isoformat() == "2026-03-12"
    yesterday = portal_day(portal, parse_day(" Yesterday"), late_evening_utc)
    assert yesterday.day.isoformat() == "2026-03-11"
    assert portal_day(portal, None, late_evening_utc).day == yesterday.day


def test_a_period_is_the_portals_own_days_across_daylight_saving() -> None:
    """Berlin moves its clocks on 29 March 2026: that day has 23 hours."""
    berlin = Portal(id=1, member_id="b", timezone="Europe/Berlin")
    now = datetime(2026, 4, 1, tzinfo=UTC)

    days = portal_days(berlin, date(2026, 3, 28), date(2026, 3, 30))

    assert (days.day, days.last, days.days) == (date(2026, 3, 28), date(2026, 3, 30), 3)
    assert days.midnights() == [
        datetime(2026, 3, 27, 23, tzinfo=UTC),
        datetime(2026, 3, 28, 23, tzinfo=UTC),
        datetime(2026, 3, 29, 22, tzinfo=UTC),
        datetime(2026, 3, 30, 22, tzinfo=UTC),
    ]
    assert (days.start, days.end) == (days.midnights()[0], days.midnights()[-1])
    one = portal_day(berlin, date(2026, 3, 29), now)
    assert one == portal_days(berlin, date(2026, 3, 29), date(2026, 3, 29))
    assert (one.last, one.end - one.start) == (date(2026, 3, 29), timedelta(hours=23))
