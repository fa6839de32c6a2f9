"""What an uninstall, a `portal forget` and retention do to a portal's rows.

Uninstall (ONAPPUNINSTALL) stops everything for the portal at once, in one transaction: queued
messages fail with the reason, nothing is left for the pusher or the sent-flag writer, the tokens
and the application_token are deleted, and the row is marked uninstalled (the handler refuses
its messages, the pusher and the flows skip it: `auth_error`). With CLEAN its data goes too.
A later install is a fresh start: new tokens, the marks cleared.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Message, Portal, StatusLog
from models.locks import lock_messages_where
from models.types import utcnow
from smsbridge.portals.retired_keys import forget_expired
from smsbridge.status.states import State

UNINSTALLED = "the app was uninstalled from the portal"
ERASED = ""  # what an erased text or number becomes


async def uninstall(session: AsyncSession, portal: Portal, *, clean: bool) -> int:
    """Stop the portal (see the module); the number of queued messages failed. Commits."""
    assert portal.id is not None
    now = utcnow()
    touched = or_(
        col(Message.state) == State.QUEUED, col(Message.push_pending), col(Message.flag_pending)
    )
    await lock_messages_where(session, col(Message.portal_id) == portal.id, touched)
    failed = (
        (
            await session.execute(
                update(Message)
                .where(col(Message.portal_id) == portal.id, col(Message.state) == State.QUEUED)
                .values(state=State.FAILED, error=UNINSTALLED, final_at=now, updated_at=now)
                .returning(col(Message.id))
            )
        )
        .scalars()
        .all()
    )
    session.add_all(
        StatusLog(
            message_pk=pk, state=State.FAILED, source="uninstall", detail=UNINSTALLED,
            observed_at=now,
        )
        for pk in failed
    )  # fmt: skip
    await session.execute(
        update(Message)
        .where(col(Message.portal_id) == portal.id)
        .where(col(Message.push_pending) | col(Message.flag_pending))
        .values(push_pending=False, flag_pending=False, updated_at=now)
    )
    if clean:
        await _delete_portal(session, portal.id)
    else:
        portal.access_token = portal.refresh_token = portal.application_token = None
        portal.access_expires_at = None
        portal.auth_error = UNINSTALLED
        portal.uninstalled_at = now
        portal.push_claimed_by = None
        portal.push_lease_until = None
        portal.updated_at = now
        session.add(portal)
    await session.commit()
    return len(failed)


async def forget(session: AsyncSession, member_id: str) -> int:
    """Erase a portal entirely (`smsbridge portal forget`): its messages, their status log and
    the portal itself; the number of messages deleted. LookupError if none is stored. Commits."""
    portal_id = (
        await session.execute(select(col(Portal.id)).where(col(Portal.member_id) == member_id))
    ).scalar_one_or_none()
    if portal_id is None:
        raise LookupError(f"no portal {member_id} is stored")
    deleted = await _delete_portal(session, portal_id)
    await session.commit()
    return deleted


async def _delete_portal(session: AsyncSession, portal_id: int) -> int:
    messages = select(col(Message.id)).where(col(Message.portal_id) == portal_id)
    await session.execute(delete(StatusLog).where(col(StatusLog.message_pk).in_(messages)))
    result = await session.execute(delete(Message).where(col(Message.portal_id) == portal_id))
    await session.execute(delete(Portal).where(col(Portal.id) == portal_id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def erase_expired(session: AsyncSession, now: datetime | None = None) -> int:
    """Retention: erase the text and number of every message past sending and older than its
    portal's `retention_days`, and the words that name the number (its error, its timeline
    comment, its status log's details), keeping what the reports count (kind, state, failure
    kind, SMS.ru codes, segments, cost, times); the number erased. The retired SMS.ru keys no
    message needs any more are deleted too. Commits."""
    now = now or utcnow()
    erased = 0
    portals = (await session.execute(select(col(Portal.id), col(Portal.retention_days)))).all()
    for portal_id, days in portals:
        cutoff = now - timedelta(days=days)
        expired = (
            col(Message.portal_id) == portal_id,
            col(Message.accepted_at) < cutoff,
            col(Message.erased_at).is_(None),
            col(Message.state).not_in([State.QUEUED, State.SENDING]),
        )
        await lock_messages_where(session, *expired)
        result = await session.execute(
            update(Message)
            .where(*expired)
            .values(
                text=ERASED,
                recipient=None,
                recipient_raw=ERASED,
                error=None,
                comment=None,
                erased_at=now,
            )
        )
        erased += int(result.rowcount or 0)  # type: ignore[attr-defined]
        this_pass = select(col(Message.id)).where(
            col(Message.portal_id) == portal_id, col(Message.erased_at) == now
        )
        await session.execute(
            update(StatusLog).where(col(StatusLog.message_pk).in_(this_pass)).values(detail=None)
        )
    await forget_expired(session, now)
    await session.commit()
    return erased
