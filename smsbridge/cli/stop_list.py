"""`smsbridge stop-list add|remove|list|import`: a portal's stop list by hand.

Marketing never goes to a listed number; the hourly `sync-stop-list` flow carries the list to
and from the SMS.ru account's own. Exit codes: 0 done, 1 failed (no such portal), 2 bad arguments.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Portal
from smsbridge.cli.common import EXIT_CONFIG, console, fail, prepare
from smsbridge.policy import stop_list
from smsbridge.rules.phones import PhoneError, to_e164
from smsbridge.runtime import runtime

stop_list_app = typer.Typer(help="A portal's stop list (marketing never goes there).")

PortalOption = Annotated[str, typer.Option("--portal", help="The portal's member_id.")]
PhoneArgument = Annotated[str, typer.Argument(help="The phone number.")]


@stop_list_app.command("add")
def add(
    phone: PhoneArgument,
    portal: PortalOption,
    reason: Annotated[str, typer.Option(help="Why (kept with the entry).")] = "",
) -> None:
    """Put a number on the portal's stop list."""
    e164 = _phone_or_exit(phone)
    added = asyncio.run(_edit(portal, e164, reason, adding=True))
    console.print(f"{e164} {'added to' if added else 'already on'} the stop list of {portal}")


@stop_list_app.command("remove")
def remove(phone: PhoneArgument, portal: PortalOption) -> None:
    """Take a number off the portal's stop list."""
    e164 = _phone_or_exit(phone)
    removed = asyncio.run(_edit(portal, e164, "", adding=False))
    console.print(f"{e164} {'removed from' if removed else 'was not on'} the stop list of {portal}")


@stop_list_app.command("list")
def list_(portal: PortalOption) -> None:
    """The portal's stop list (entries without a portal apply to every portal)."""
    entries = asyncio.run(_entries(portal))
    table = Table("phone", "reason", "from", "added")
    for entry in entries:
        scope = entry.origin if entry.portal_id is not None else f"{entry.origin}, every portal"
        table.add_row(
            entry.phone, entry.reason, scope, entry.created_at.isoformat(timespec="seconds")
        )
    Console().print(table)


@stop_list_app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="CSV: the phone in the first column.")],
    portal: PortalOption,
    reason: Annotated[str, typer.Option(help="Why, for every imported entry.")] = "imported",
) -> None:
    """Add every number of a CSV file; lines that are not a phone are listed and skipped."""
    if not path.is_file():
        fail(f"no such file: {path}", EXIT_CONFIG)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        read = stop_list.read_csv(handle)
    for line, why, value in read.skipped:
        console.print(f"line {line}: {why}: {value!r} (skipped)")
    phones = read.phones
    added = asyncio.run(_import(portal, phones, reason))
    console.print(f"{added} added, {len(phones) - added} already listed, portal {portal}")


def _phone_or_exit(phone: str) -> str:
    try:
        return to_e164(phone)
    except PhoneError as exc:
        fail(f"{phone!r}: {exc.reason}", EXIT_CONFIG)


async def _portal_id(session: AsyncSession, member_id: str) -> int:
    found = await session.exec(select(Portal.id).where(col(Portal.member_id) == member_id))
    portal_id = found.first()
    if portal_id is None:
        fail(f"no portal {member_id} is stored")
    return portal_id


async def _edit(member_id: str, e164: str, reason: str, *, adding: bool) -> bool:
    async with runtime(prepare()) as rt, rt.sessions() as session:
        portal_id = await _portal_id(session, member_id)
        if adding:
            changed = await stop_list.add(session, portal_id, e164, reason, "manual")
        else:
            changed = await stop_list.remove(session, portal_id, e164)
        await session.commit()
        return changed


async def _entries(member_id: str) -> list:  # type: ignore[type-arg]
    async with runtime(prepare()) as rt, rt.sessions() as session:
        return await stop_list.entries(session, await _portal_id(session, member_id))


async def _import(member_id: str, phones: list[str], reason: str) -> int:
    async with runtime(prepare()) as rt, rt.sessions() as session:
        portal_id = await _portal_id(session, member_id)
        added = await stop_list.add_many(session, portal_id, phones, reason, "import")
        await session.commit()
        return added
