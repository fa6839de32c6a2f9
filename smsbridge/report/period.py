"""One portal's report over a period of its local days: what the app's analytics show.

The same report as the daily one (`smsbridge.report.daily` defines every figure), over the days
`first`..`last` of the portal's own time zone: the daily report is its one-day case, so a day
asked either way gives the same figures. The SMS.ru account is not asked (the app's status shows
it); `accounts` is empty.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from models import Portal
from models.types import utcnow
from smsbridge.portals.lookup import PortalNotFound, find
from smsbridge.progress import ProgressCallback
from smsbridge.report.daily import read_days
from smsbridge.report.days import ReportError, check_period, portal_day, portal_days
from smsbridge.report.figures import compute
from smsbridge.report.model import DailyReport
from smsbridge.runtime import Runtime

DEFAULT_DAYS = 7  # what the app shows first: the last week, today included


async def period_report(
    rt: Runtime,
    member_id: str,
    first: date,
    last: date,
    *,
    now: datetime | None = None,
    progress: ProgressCallback | None = None,
) -> DailyReport:
    """The portal's figures over its local days `first`..`last` inclusive; `ReportError` for an
    unknown portal or a period that is not one (reversed, longer than `days.MAX_DAYS`)."""
    check_period(first, last)
    async with rt.sessions() as session:
        try:
            portal = await find(session, member_id)
        except PortalNotFound as exc:
            raise ReportError(str(exc)) from None
    days = [portal_days(portal, first, last)]
    frame, texts = await read_days(rt.settings.database, days, one_portal=True, progress=progress)
    return compute(frame, days, (), now or utcnow(), texts)


def last_days(portal: Portal, now: datetime, days: int = DEFAULT_DAYS) -> tuple[date, date]:
    """The portal's last `days` local days as of `now`, its today included: the app's default."""
    today = portal_day(portal, 0, now).day
    return today - timedelta(days=days - 1), today
