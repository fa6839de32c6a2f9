"""The most expensive texts of a report's days: sent messages grouped by their exact text.

The one figure that needs the text itself. The database groups and ranks (a query of its own,
run beside `load`'s), so only each portal's top rows reach Python: the frame stays integers, and
a million personalised texts never become a million strings here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Select, and_, cast, func, or_, select
from sqlalchemy.engine import URL
from sqlmodel import col

from models import Message
from smsbridge.portals.lifecycle import ERASED
from smsbridge.report.days import PortalDay
from smsbridge.report.load import COST_SCALE, read_engine
from smsbridge.report.model import TextCost
from smsbridge.status.states import ACCEPTED

TOP_TEXTS = 10  # per portal


def texts_query(days: Sequence[PortalDay], top: int = TOP_TEXTS) -> Select[Any]:
    """Per portal, its `top` texts by cost (then segments, messages, the earliest first) among
    its sent messages accepted within its own days: portal_id, text, messages, segments, cost_e4."""
    accepted_at, portal_id = col(Message.accepted_at), col(Message.portal_id)
    spans: dict[tuple[Any, Any], list[int]] = {}
    for d in days:  # portals in one time zone share one condition
        spans.setdefault((d.start, d.end), []).append(d.portal_id)
    # `+ 0` keeps the planner on the accepted_at index (see `load.window_query`).
    within = or_(
        *(
            and_((portal_id + 0).in_(ids), accepted_at >= start, accepted_at < end)
            for (start, end), ids in spans.items()
        )
    )
    messages = func.count()
    segments = func.sum(col(Message.segments))
    cost_e4 = func.coalesce(
        func.sum(cast(func.round(col(Message.cost) * COST_SCALE), BigInteger)), 0
    )
    rank = func.row_number().over(
        partition_by=portal_id,
        order_by=(cost_e4.desc(), segments.desc(), messages.desc(), func.min(col(Message.id))),
    )
    ranked = (
        select(
            portal_id.label("portal_id"),
            col(Message.text).label("text"),
            messages.label("messages"),
            segments.label("segments"),
            cost_e4.label("cost_e4"),
            rank.label("rank"),
        )
        .where(
            accepted_at >= min(d.start for d in days),
            accepted_at < max(d.end for d in days),
            col(Message.state).in_(list(ACCEPTED)),
            col(Message.text) != ERASED,
            within,
        )
        .group_by(portal_id, col(Message.text))
        .subquery()
    )
    return (
        select(
            ranked.c.portal_id,
            ranked.c.text,
            ranked.c.messages,
            ranked.c.segments,
            ranked.c.cost_e4,
        )
        .where(ranked.c.rank <= top)
        .order_by(ranked.c.portal_id, ranked.c.rank)
    )


def read_top_texts(url: URL, days: Sequence[PortalDay], top: int = TOP_TEXTS) -> list[TextCost]:
    """`texts_query`'s rows, per portal in the order of `days`. Blocking: `load_top_texts` runs
    it in a thread."""
    if not days:
        return []
    members = {d.portal_id: d.member_id for d in days}
    engine = read_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(texts_query(days, top)).all()
    finally:
        engine.dispose()
    found = [
        TextCost(
            members[int(portal)],
            text,
            int(messages),
            int(segments),
            Decimal(int(cost_e4)) / COST_SCALE,
        )
        for portal, text, messages, segments, cost_e4 in rows
    ]
    order = {d.member_id: n for n, d in enumerate(days)}
    return sorted(found, key=lambda t: order[t.member_id])  # stable: ranks stay in order


async def load_top_texts(
    url: URL, days: Sequence[PortalDay], top: int = TOP_TEXTS
) -> list[TextCost]:
    return await asyncio.to_thread(read_top_texts, url, days, top)
