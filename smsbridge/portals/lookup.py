"""Finding a stored portal by its member_id: one way, one "not found".

Every command, flow and endpoint that is given a member_id asks here; whether Bitrix24 can be
called for the portal found is `smsbridge.portals.tokens.why_not_callable`.
"""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Portal
from smsbridge.portals.tokens import PortalNotAuthorized, callable_clause, why_not_callable


class PortalNotFound(LookupError):
    """No portal is stored under this member_id."""

    def __init__(self, member_id: str) -> None:
        super().__init__(f"no portal {member_id} is stored; install the app there first")


async def find_or_none(session: AsyncSession, member_id: str) -> Portal | None:
    """The portal stored under `member_id`, if any (the install endpoint stores a new one)."""
    return (await session.execute(select(Portal).where(Portal.member_id == member_id))).scalar()


async def find(session: AsyncSession, member_id: str) -> Portal:
    """The portal stored under `member_id`; `PortalNotFound` when there is none."""
    portal = await find_or_none(session, member_id)
    if portal is None:
        raise PortalNotFound(member_id)
    return portal


async def installed(session: AsyncSession, member_id: str | None = None) -> list[Portal]:
    """The portals Bitrix24 can be called for, in id order. With `member_id` just that one, or
    `PortalNotFound` / `PortalNotAuthorized` saying why not."""
    if member_id is not None:
        portal = await find(session, member_id)
        if why_not_callable(portal) is not None:
            raise PortalNotAuthorized(portal)
        return [portal]
    statement = select(Portal).where(callable_clause()).order_by(col(Portal.id))
    return list((await session.execute(statement)).scalars())
