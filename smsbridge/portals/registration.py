"""Making SMS.ru a provider in a portal, binding the app's events, and making SMS.ru call us
back. Idempotent.

Run at install, on ONAPPUPDATE (an app update deletes the app's providers), at start-up for
portals whose provider still has the HANDLER of before per-portal secrets, and by
`smsbridge register`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from clients.bitrix24.client import Bitrix24Client
from clients.bitrix24.errors import Bitrix24Error, OAuthError
from clients.smsru.client import SmsRuClient
from clients.smsru.errors import SmsRuError
from models import Portal
from smsbridge.config import Settings
from smsbridge.endpoints import callback_url, event_urls, handler_url
from smsbridge.logs import fields
from smsbridge.portals.client import portal_client
from smsbridge.portals.lookup import installed
from smsbridge.portals.smsru import smsru_client, smsru_key
from smsbridge.portals.tokens import PortalNotAuthorized
from smsbridge.sent_flag import flag as sent_flag

log = logging.getLogger("smsbridge.registration")

PROVIDER_CODE = "smsru"
PROVIDER_NAME = "SMS.ru"
PROVIDER_DESCRIPTION = "SMS через SMS.ru: реальные статусы доставки в CRM"


@dataclass(frozen=True, slots=True)
class Registration:
    provider: str  # added | updated
    events: list[str]  # the events bound now (those already bound are not listed)
    smsru_callback: str  # added | already registered | no SMS.ru key
    sent_flag_created_on: list[str]  # entities where UF_CRM_SMS_SENT had to be created


async def register(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    http: httpx.AsyncClient,
    portal: Portal,
    secret: str,
    *,
    install_event: bool = False,
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
    if portal.legacy_handler:  # the old HANDLER URL is no longer registered anywhere
        async with sessions() as session:
            statement = update(Portal).where(Portal.id == portal.id)  # type: ignore[arg-type]
            await session.execute(statement.values(legacy_handler=False))
            await session.commit()
        portal.legacy_handler = False
    events = await bind_events(client, settings, install_event=install_event)
    created = await sent_flag.ensure_fields(client)
    key = smsru_key(portal, settings)
    if key is None:
        return Registration(provider_result, events, "no SMS.ru key", created)
    smsru = smsru_client(key, settings, http)
    return Registration(
        provider_result, events, await ensure_callback(smsru, settings, secret), created
    )


async def bind_events(
    client: Bitrix24Client, settings: Settings, *, install_event: bool = False
) -> list[str]:
    """Bind ONAPPUNINSTALL and ONAPPUPDATE to our URLs, unless `event.get` lists them bound.

    A second bind is refused ("Handler already binded"); that counts as bound too."""
    bound = {
        (str(row.get("event", "")).upper(), str(row.get("handler", "")))
        for row in await client.call("event.get")
        if isinstance(row, dict)
    }
    added = []
    for event, url in event_urls(settings, install_event=install_event).items():
        if (event, url) in bound:
            continue
        try:
            await client.call("event.bind", {"event": event, "handler": url})
        except Bitrix24Error as exc:
            if "already binded" not in str(exc).lower():
                raise
        added.append(event)
    return added


async def ensure_callback(smsru: SmsRuClient, settings: Settings, secret: str) -> str:
    """Our callback URL on the SMS.ru account of `smsru`: added | already registered."""
    url = callback_url(settings, secret)
    if url in await smsru.callbacks():
        return "already registered"
    await smsru.add_callback(url)
    return "added"


async def register_legacy(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    http: httpx.AsyncClient,
    secret: str,
) -> list[str]:
    """At start-up: register again every installed portal whose provider still has the HANDLER
    of before per-portal secrets; the member_ids done. One that fails keeps its old URL working
    and is tried at the next start (or by `smsbridge register`)."""
    async with sessions() as session:
        portals = [p for p in await installed(session) if p.legacy_handler]
    done = []
    for portal in portals:
        try:
            await register(sessions, settings, http, portal, secret)
        except (Bitrix24Error, OAuthError, SmsRuError, PortalNotAuthorized) as exc:
            log.warning(
                "old HANDLER kept: registration failed %s",
                fields(portal=portal.member_id, reason=str(exc)),
            )
            continue
        log.info(
            "provider registered with its own HANDLER secret %s", fields(portal=portal.member_id)
        )
        done.append(portal.member_id)
    return done
