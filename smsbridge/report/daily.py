"""The daily report: what became of one day's messages, per portal, kind and source.

The same report covers a period of days (`smsbridge.report.period`, the app's analytics): the
daily report is its one-day case, made by the same code.

Definitions (every figure means exactly this):

- **day**: the portal's local calendar day (`Portal.timezone`, IANA) of `accepted_at`; a message
  belongs to the day it was accepted, whatever happened to it later. Without a given day each
  portal is reported for its own yesterday. A **period** is the portal's local days first..last
  inclusive (at most 92); **by day** gives each of them the figures of its own messages.
- **messages**: every message accepted that day. **sent**: accepted by SMS.ru (it has an sms_id;
  states sent, in_transit, delivered, undelivered). **delivered** / **undelivered**: by state.
  **failed**: state failed (refused by SMS.ru at send time, invalid content, or an interrupted
  send). **pending**: queued, sending, sent or in_transit at report time.
- **delivery rate** = delivered / (delivered + undelivered + failed): final outcomes only, so
  messages still pending neither help nor hurt it; none when nothing is final yet.
- **time to delivery** = final_at − sent_at of delivered messages; the median and p90 in seconds
  (to the millisecond) interpolate linearly between ranks (numpy's default).
- **segments** = the sum of `segments`; **cost** = the sum of `cost` as SMS.ru charged it (exact
  Decimal); a message with no cost yet counts 0, and **without cost** counts the sent ones.
- **failures by code**: failed and undelivered messages grouped by SMS.ru's code (send_code when
  failed at send, status_code when undelivered) with the code's meaning; a failure of ours (no
  code) shows "—" with the kind of failure stored with it (`messages.failure`).
- **long messages**: sent messages of two or more segments (only those are paid for); shortening
  each to one segment saves (segments − 1) × the portal's average cost per segment over the
  reported days (its cost / the segments of its messages that have a cost), rounded to kopecks.
- **by kind** and **by source**: the same figures over a portal's transactional or marketing
  messages, and over those from a CRM card, a robot or business process, a campaign (or another
  module), as `smsbridge.rules.origin` classifies them at intake.
- **most expensive texts**: sent messages grouped by their exact text (as stored; a text erased
  by retention is left out): messages, segments and cost of each; a portal's ten costliest, by
  cost, then segments, then messages, then the earliest message first.
- **templates**: the texts grouped into the templates they were made from, their variable parts
  (numbers, amounts, dates, links, codes, names) masked; per portal the 20 dearest, with the
  figures above for each.
- **accounts**: SMS.ru balance and daily limit of each distinct key (the portal's own, else
  SMSRU_API_ID) at report time, or why they are unavailable.

The day's rows are read with one query (the needed columns only, in chunks, over the UTC window
that covers every reported portal's day) into a pandas DataFrame; each row is then kept or dropped
by its portal's own local day, and every figure is a groupby over that frame. The texts are
grouped and ranked by a second query, run at the same time (`texts`): only the top rows are read.

The parts, in the order a report is made: `days` (which UTC window each portal's days are),
`load` (the query and the frame), `texts` (the costliest texts), `figures` (pandas), `accounts`
(SMS.ru balances), `model` (what a report holds), and its presentations: `text` (shared
wording), `charts` (inline SVG), `html` (the page), `wording` and `analytics_html` (the app's
analytics, in Russian or English).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import URL
from sqlmodel import col

from models import Portal
from models.types import utcnow
from smsbridge.portals.lookup import find
from smsbridge.progress import ProgressCallback
from smsbridge.report.accounts import accounts
from smsbridge.report.days import Day, PortalDay, portal_day
from smsbridge.report.figures import compute
from smsbridge.report.load import load_messages
from smsbridge.report.model import DailyReport, TextCost
from smsbridge.report.texts import load_top_texts
from smsbridge.runtime import Runtime


async def daily_reports(
    rt: Runtime,
    day: Day | None = None,
    member_id: str | None = None,
    *,
    now: datetime | None = None,
    progress: ProgressCallback | None = None,
) -> list[DailyReport]:
    """One report per reported date (without `day`, portals far apart may be on different
    yesterdays), over every portal or just `member_id`'s."""
    now = now or utcnow()
    async with rt.sessions() as session:
        if member_id is not None:
            portals = [await find(session, member_id)]
        else:
            statement = select(Portal).order_by(col(Portal.id))
            portals = list((await session.execute(statement)).scalars())
    days = [portal_day(p, day, now) for p in portals]
    frame, texts = await read_days(
        rt.settings.database, days, one_portal=member_id is not None, progress=progress
    )
    balances = await accounts(rt.http, rt.settings, portals)
    reports = []
    for date_ in sorted({d.day for d in days}):
        on_date = [d for d in days if d.day == date_]
        ids = {d.member_id for d in on_date}
        mine = [a for a in balances if ids & set(a.member_ids)]
        on_texts = [t for t in texts if t.member_id in ids]
        reports.append(compute(frame, on_date, mine, now, on_texts))
    return reports


async def read_days(
    url: URL,
    days: Sequence[PortalDay],
    *,
    one_portal: bool = False,
    progress: ProgressCallback | None = None,
    templates: bool = True,
) -> tuple[pd.DataFrame, list[TextCost]]:
    """The frame of the days' messages (with `templates`, their texts grouped into templates)
    and their costliest texts: two reads, at once."""
    frame, texts = await asyncio.gather(
        load_messages(url, days, one_portal=one_portal, progress=progress, templates=templates),
        load_top_texts(url, days),
    )
    return frame, texts
