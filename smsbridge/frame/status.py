"""What the app's page tells everyone: the SMS.ru account, sending, Bitrix24, the queue.

The account figures are read from SMS.ru when the page is drawn (balance, today's limit, the free
quota, the approved sender names); an account that cannot be read is a sentence, not an error
page. Nothing here is a secret: the key itself is shown only as its last four characters.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import httpx
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from clients.smsru.errors import SmsRuApiError, SmsRuError
from clients.smsru.replies import FreeReply, LimitReply
from models import Message, Portal
from models.types import utcnow
from smsbridge.config import Settings
from smsbridge.portals.smsru import NoSmsRuKey, smsru_client_for, smsru_key, smsru_test
from smsbridge.status.states import State

ACCOUNT_TIMEOUT = httpx.Timeout(8.0)


@dataclass(frozen=True, slots=True)
class Account:
    key_hint: str | None  # "…a1b2" of the key in use; None: no key at all
    own_key: bool  # the portal's own key (else SMSRU_API_ID)
    balance: Decimal | None = None
    limit: LimitReply | None = None
    free: FreeReply | None = None
    senders: list[str] = field(default_factory=list)
    error: str | None = None  # why the figures are missing, in words


@dataclass(frozen=True, slots=True)
class PortalStatus:
    account: Account
    sender: str | None
    test_mode: bool
    paused_until: datetime | None
    pause_reason: str | None
    auth_error: str | None
    last_callback_at: datetime | None
    waiting: dict[str, dict[str, int]]  # kind → {queued, sending}


def key_hint(key: str) -> str:
    """What the page shows of an SMS.ru key: its last four characters."""
    return "…" + key[-4:] if len(key) > 8 else "…"


async def read_account(http: httpx.AsyncClient, settings: Settings, portal: Portal) -> Account:
    key = smsru_key(portal, settings)
    own = bool(portal.smsru_api_id)
    try:
        client = smsru_client_for(portal, settings, http, ACCOUNT_TIMEOUT)
    except NoSmsRuKey as exc:
        return Account(None, own, error=str(exc))
    hint = key_hint(key or "")
    try:
        balance, limit, free, senders = await asyncio.gather(
            client.balance(), client.limit(), client.free(), client.senders()
        )
    except SmsRuApiError as exc:
        return Account(hint, own, error=f"SMS.ru refused: {exc.text} (code {exc.code})")
    except SmsRuError:
        return Account(hint, own, error="SMS.ru cannot be reached now; the figures are missing")
    return Account(hint, own, balance, limit, free, senders)


async def waiting(session: AsyncSession, portal_id: int) -> dict[str, dict[str, int]]:
    """Messages not yet handed to SMS.ru, by kind: queued and sending."""
    rows = await session.execute(
        select(Message.kind, Message.state, func.count())
        .where(
            col(Message.portal_id) == portal_id,
            col(Message.state).in_([State.QUEUED, State.SENDING]),
        )
        .group_by(col(Message.kind), col(Message.state))
    )
    counts: dict[str, dict[str, int]] = {}
    for kind, state, count in rows.all():
        counts.setdefault(kind, {State.QUEUED: 0, State.SENDING: 0})[state] = count
    return counts


async def portal_status(
    session: AsyncSession, http: httpx.AsyncClient, settings: Settings, portal: Portal
) -> PortalStatus:
    assert portal.id is not None
    paused = portal.paused_until if portal.paused_until and portal.paused_until > utcnow() else None
    return PortalStatus(
        account=await read_account(http, settings, portal),
        sender=portal.smsru_sender or settings.smsru_sender,
        test_mode=smsru_test(portal, settings),
        paused_until=paused,
        pause_reason=portal.pause_reason if paused else None,
        auth_error=portal.auth_error,
        last_callback_at=portal.last_callback_at,
        waiting=await waiting(session, portal.id),
    )
