"""`smsbridge portal set MEMBER_ID …` (a portal's message policy and retention) and
`smsbridge consent sync`.

Turning consent on creates the CRM field it is read from (UF_CRM_SMS_CONSENT on contacts and
leads) when the portal can be called. Exit codes: 0 done, 1 failed, 2 bad arguments.
"""

from __future__ import annotations

import asyncio
from enum import StrEnum
from typing import Annotated

import typer
from sqlmodel import col, select

from clients.bitrix24.errors import Bitrix24Error, OAuthError
from models import Portal
from models.types import utcnow
from smsbridge.cli.common import EXIT_CONFIG, console, fail, prepare
from smsbridge.policy import consent
from smsbridge.policy.refusals import CONSENT_REQUIRED
from smsbridge.portals.client import portal_client
from smsbridge.portals.lookup import installed
from smsbridge.portals.tokens import PortalNotAuthorized
from smsbridge.runtime import Runtime, runtime

consent_app = typer.Typer(help="Consent to marketing, read from the CRM.", no_args_is_help=True)
UNREACHABLE = (LookupError, Bitrix24Error, OAuthError, PortalNotAuthorized)
MAX_RETENTION_DAYS = 3650  # ten years: past that a typo, not a policy


class ConsentPolicy(StrEnum):
    REQUIRED = "required"
    OFF = "off"


def portal_set(
    member_id: Annotated[str, typer.Argument(help="The portal's member_id.")],
    marketing_consent: Annotated[
        ConsentPolicy | None, typer.Option(help="Whether marketing needs consent.")
    ] = None,
    daytime: Annotated[
        bool | None, typer.Option(help="Marketing waits for the recipient's daytime.")
    ] = None,
    marketing_pace: Annotated[
        int | None, typer.Option(min=1, help="Marketing messages a minute, at most.")
    ] = None,
    transactional_ttl: Annotated[
        int | None,
        typer.Option(min=0, max=1440, help="Minutes a transactional message lives (0: no ttl)."),
    ] = None,
    transactional_stop_list: Annotated[
        bool | None, typer.Option(help="Transactional messages respect the stop list too.")
    ] = None,
    duplicate_window: Annotated[
        int | None,
        typer.Option(min=0, help="Seconds a robot's repeat is refused in (0: off)."),
    ] = None,
    retention_days: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=MAX_RETENTION_DAYS,
            help="Days messages keep their text and number (personal data), then erased.",
        ),
    ] = None,
) -> None:
    """Set a portal's message policy and retention (only the options given change)."""
    changes: dict[str, object] = {
        "marketing_consent": marketing_consent and str(marketing_consent),
        "marketing_daytime": daytime,
        "marketing_pace": marketing_pace,
        "transactional_ttl": transactional_ttl,
        "transactional_stop_list": transactional_stop_list,
        "duplicate_window": duplicate_window,
        "retention_days": retention_days,
    }
    changes = {name: value for name, value in changes.items() if value is not None}
    if not changes:
        fail("nothing to set: give at least one option (see --help)", EXIT_CONFIG)
    if changes.get("transactional_ttl") == 0:
        changes["transactional_ttl"] = None
    asyncio.run(_set(member_id, changes))


async def _set(member_id: str, changes: dict[str, object]) -> None:
    async with runtime(prepare()) as rt:
        async with rt.sessions() as session:
            found = await session.exec(select(Portal).where(col(Portal.member_id) == member_id))
            portal = found.first()
            if portal is None:
                fail(f"no portal {member_id} is stored")
            for name, value in changes.items():
                setattr(portal, name, value)
            portal.updated_at = utcnow()
            session.add(portal)
            await session.commit()
        console.print(f"portal {member_id}: " + ", ".join(f"{k}={v}" for k, v in changes.items()))
        if changes.get("marketing_consent") == CONSENT_REQUIRED:
            await _ensure_field(rt, member_id)


async def _ensure_field(rt: Runtime, member_id: str) -> None:
    try:
        async with rt.sessions() as session:
            [portal] = await installed(session, member_id)
        assert portal.id is not None
        client = portal_client(rt.sessions, rt.settings, rt.http, portal.id)
        created = await consent.ensure_fields(client)
    except UNREACHABLE as exc:
        console.print(f"[yellow]{consent.FIELD} not checked in the CRM: {exc}[/yellow]")
        return
    where = ", ".join(created) or "nowhere (it exists)"
    console.print(f"{consent.FIELD} created on: {where}; run `smsbridge consent sync` to read it")


@consent_app.command("sync")
def consent_sync(
    portal: Annotated[str, typer.Option("--portal", help="The portal's member_id.")],
    full: Annotated[bool, typer.Option(help="Read every item, not only the changed.")] = False,
) -> None:
    """Read consent (UF_CRM_SMS_CONSENT on contacts and leads) from the CRM now."""
    try:
        result = asyncio.run(_sync(portal, full))
    except UNREACHABLE as exc:
        fail(f"consent sync failed: {exc}")
    console.print(
        f"portal {portal}: {result.read} items read, {result.given} consents stored, "
        f"{result.withdrawn} withdrawn, {result.unreadable} phone values not read"
    )


async def _sync(member_id: str, full: bool) -> consent.ConsentSync:
    async with runtime(prepare()) as rt:
        async with rt.sessions() as session:
            [portal] = await installed(session, member_id)
        assert portal.id is not None
        client = portal_client(rt.sessions, rt.settings, rt.http, portal.id)
        return await consent.sync(rt.sessions, client, portal, full=full)
