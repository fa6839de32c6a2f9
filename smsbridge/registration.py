"""Making SMS.ru a provider in a portal, and making SMS.ru call us back. Idempotent.

Run at install, and again by `smsbridge register` (an app update deletes the app's providers).
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from clients.bitrix24.errors import Bitrix24Error
from clients.smsru.client import SmsRuClient
from models import Portal
from smsbridge import sent_flag
from smsbridge.config import Settings
from smsbridge.portal_client import portal_client

PROVIDER_CODE = "smsru"
PROVIDER_NAME = "SMS.ru"
PROVIDER_DESCRIPTION = "SMS через SMS.ru: реальные статусы доставки в CRM"


def handler_path(member_id: str, secret: str) -> str:
    """Where Bitrix24 POSTs a portal's messages (the provider's HANDLER)."""
    return f"/bitrix24/handler/{member_id}/{secret}"


def callback_path(secret: str) -> str:
    """Where SMS.ru POSTs status changes (registered with /callback/add)."""
    return f"/smsru/callback/{secret}"


def handler_url(settings: Settings, member_id: str, secret: str) -> str:
    return settings.public_base + handler_path(member_id, secret)


def callback_url(settings: Settings, secret: str) -> str:
    return settings.public_base + callback_path(secret)


@dataclass(frozen=True, slots=True)
class Registration:
    provider: str  # added | updated
    smsru_callback: str  # added | already registered | no SMS.ru key
    sent_flag_created_on: list[str]  # entities where UF_CRM_SMS_SENT had to be created


async def register(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    http: httpx.AsyncClient,
    portal: Portal,
    secret: str,
) -> Registration:
    assert portal.id is not None
    client = portal_client(sessions, settings, http, portal.id)
    provider = {
        "CODE": PROVIDER_CODE,
        "HANDLER": handler_url(settings, portal.member_id, secret),
        "NAME": PROVIDER_NAME,
        "DESCRIPTION": PROVIDER_DESCRIPTION,
    }
    try:
        await client.call("messageservice.sender.add", provider | {"TYPE": "SMS"})
        provider_result = "added"
    except Bitrix24Error as exc:
        if exc.code != "ERROR_SENDER_ALREADY_INSTALLED":
            raise
        await client.call("messageservice.sender.update", provider)
        provider_result = "updated"
    created = await sent_flag.ensure_fields(client)
    api_id = portal.smsru_api_id or settings.smsru_key
    if not api_id:
        return Registration(provider_result, "no SMS.ru key", created)
    smsru = SmsRuClient(api_id, base_url=settings.smsru_base, http=http)
    url = callback_url(settings, secret)
    if url in await smsru.callbacks():
        return Registration(provider_result, "already registered", created)
    await smsru.add_callback(url)
    return Registration(provider_result, "added", created)
