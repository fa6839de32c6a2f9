"""Asking SMS.ru now, as poll-statuses' next pass would: the statuses callbacks did not bring,
and the prices no callback carries."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from models import Message
from models.types import utcnow
from smsbridge.config import Settings
from smsbridge.runtime import runtime
from smsbridge.status.poll import PollSummary, poll_due


def poll_now(settings: Settings, engine: Engine) -> PollSummary:
    """Make every message still polled due, then run one pass (in a thread of its own: the
    caller's may be running an event loop already, as a browser driver's does)."""
    polled = col(Message.next_poll_at).is_not(None)
    with Session(engine) as session:  # locked in id order first, as every writer does (locks.py)
        session.execute(
            select(Message.id).where(polled).order_by(col(Message.id)).with_for_update()
        )
        session.execute(update(Message).where(polled).values(next_poll_at=utcnow()))
        session.commit()

    async def one_pass() -> PollSummary:
        async with runtime(settings) as rt:
            return await poll_due(rt.sessions, rt.settings, rt.http)

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, one_pass()).result()
