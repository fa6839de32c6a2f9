"""Which portals the scheduled work is for."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Portal


async def installed_portals(session: AsyncSession, member_id: str | None = None) -> list[Portal]:
    """Portals we can call: installed (tokens stored) and not refused by Bitrix24 since.

    With `member_id`, just that one; a LookupError says why when it is not usable.
    """
    statement = select(Portal).order_by(col(Portal.id))
    if member_id is not None:
        statement = statement.where(col(Portal.member_id) == member_id)
    portals = list((await session.execute(statement)).scalars())
    if member_id is not None:
        if not portals:
            raise LookupError(f"no portal {member_id} is stored")
        if portals[0].auth_error or not portals[0].refresh_token:
            reason = portals[0].auth_error or "the app is not installed there"
            raise LookupError(f"portal {member_id} cannot be called: {reason}")
    return [p for p in portals if p.refresh_token and not p.auth_error]
