"""`smsbridge portal …` commands added with tenants: the key check of `portal add`, and
`portal forget`."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from clients.smsru.errors import SmsRuApiError, SmsRuUnavailable
from smsbridge.cli.common import EXIT_CONFIG, EXIT_FAILED, console, fail, prepare
from smsbridge.config import Settings
from smsbridge.portals.lifecycle import forget as forget_portal
from smsbridge.portals.smsru_account import adopt_key
from smsbridge.runtime import runtime


def check_smsru_key(settings: Settings, api_id: str) -> str:
    """Exit 2 with SMS.ru's reason if it refuses the key, 1 if SMS.ru cannot be asked; else
    register our callback on the key's account and say how it went."""
    try:
        return asyncio.run(_adopt(settings, api_id))
    except SmsRuApiError as exc:
        fail(f"SMS.ru refused the key, nothing stored: {exc}", EXIT_CONFIG)
    except SmsRuUnavailable as exc:
        fail(f"SMS.ru could not check the key, nothing stored: {exc}", EXIT_FAILED)


async def _adopt(settings: Settings, api_id: str) -> str:
    async with runtime(settings) as rt:
        return await adopt_key(rt, api_id)


def forget(
    member_id: Annotated[str, typer.Argument(help="The portal's Bitrix24 member_id.")],
) -> None:
    """Erase a portal entirely: its messages (texts, numbers, status history) and its settings."""
    settings = prepare()
    try:
        deleted = asyncio.run(_forget(settings, member_id))
    except LookupError as exc:
        fail(str(exc), EXIT_FAILED)
    console.print(f"portal {member_id} forgotten: {deleted} message(s) erased")


async def _forget(settings: Settings, member_id: str) -> int:
    async with runtime(settings) as rt, rt.sessions() as session:
        return await forget_portal(session, member_id)
