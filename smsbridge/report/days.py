"""Which days a report covers: one portal's local calendar day, or a span of its days, as UTC
instants."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from models import Portal

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class ReportError(Exception):
    """The report cannot be made as asked: an unknown portal, a portal's unknown time zone, or a
    period that is not one."""


@dataclass(frozen=True)
class PortalDay:
    """One portal's reported day (or `days` days from it), and the UTC instants where they start
    and end."""

    portal_id: int
    member_id: str
    timezone: str
    day: date  # the first reported day
    start: datetime
    end: datetime
    domain: str = ""  # how people know the portal; the member_id is a 32-hex id
    days: int = 1  # a daily report's one day; a period's length

    @property
    def name(self) -> str:
        return self.domain or self.member_id

    @property
    def last(self) -> date:
        return self.day + timedelta(days=self.days - 1)

    def midnights(self) -> list[datetime]:
        """Where each reported day starts, in UTC, and where the last one ends (a day is not
        always 24 hours: daylight saving time)."""
        zone = ZoneInfo(self.timezone)
        return [
            datetime.combine(self.day + timedelta(days=n), time(), tzinfo=zone).astimezone(UTC)
            for n in range(self.days + 1)
        ]


# A reported day: a date, or days back from each portal's own today (0 today, 1 yesterday).
Day = date | int
RELATIVE_DAYS = {"today": 0, "yesterday": 1}
MAX_DAYS = 92  # a quarter: a chart of days still reads, and the read stays a few seconds


def parse_day(text: str) -> Day:
    """A day given as YYYY-MM-DD, `today` or `yesterday` (each portal's own); a ValueError that
    says so for anything else."""
    if text.strip().lower() in RELATIVE_DAYS:
        return RELATIVE_DAYS[text.strip().lower()]
    found = parse_date(text)
    if found is None:
        raise ValueError(f"the day must be YYYY-MM-DD, today or yesterday, not {text!r}")
    return found


def parse_date(text: str) -> date | None:
    """A date given as YYYY-MM-DD exactly (no other ISO form), else None."""
    if _DAY.fullmatch(text.strip()):
        try:
            return date.fromisoformat(text.strip())
        except ValueError:
            pass
    return None


def portal_day(portal: Portal, day: Day | None, now: datetime) -> PortalDay:
    """The portal's `day`, or that many days before its today as of `now` (default: its
    yesterday), in its own time zone."""
    if not isinstance(day, date):
        day = now.astimezone(_zone(portal)).date() - timedelta(days=1 if day is None else day)
    return portal_days(portal, day, day)


def portal_days(portal: Portal, first: date, last: date) -> PortalDay:
    """The portal's local days `first`..`last` inclusive, in its own time zone."""
    assert portal.id is not None
    zone = _zone(portal)
    start = datetime.combine(first, time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    days = (last - first).days + 1
    return PortalDay(
        portal.id, portal.member_id, portal.timezone, first, start, end, portal.domain or "", days
    )


def _zone(portal: Portal) -> ZoneInfo:
    try:
        return ZoneInfo(portal.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ReportError(
            f"portal {portal.member_id} has an unknown time zone {portal.timezone!r}"
        ) from None


def check_period(first: date, last: date) -> None:
    """`ReportError`, in words, unless `first`..`last` is a period a report covers."""
    if last < first:
        raise ReportError(f"the period ends on {last} before it starts on {first}")
    days = (last - first).days + 1
    if days > MAX_DAYS:
        raise ReportError(
            f"the period {first}..{last} has {days} days; at most {MAX_DAYS} are reported at once"
        )
