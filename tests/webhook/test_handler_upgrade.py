"""Across the upgrade to per-portal HANDLER secrets: the old URL (the master secret) works for a
portal whose provider still has it, until the provider is registered again (at start-up)."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import SecretStr
from sqlalchemy import update
from sqlmodel import Session, select
from support import MEMBER_ID, SECRET, SMSRU_KEY, Webhook, wait_for

from models import Portal
from sandbox.bitrix24.messages import encode, message_fields
from sandbox.bitrix24.portal import PortalEmulator
from smsbridge.endpoints import handler_path, portal_handler_path

OLD = handler_path(MEMBER_ID, SECRET)


def set_legacy(webhook: Webhook, legacy: bool) -> None:
    with Session(webhook.engine) as session:
        session.execute(update(Portal).values(legacy_handler=legacy))
        session.commit()


def legacy(webhook: Webhook) -> bool:
    with Session(webhook.engine) as session:
        return session.exec(select(Portal.legacy_handler)).one()


def body() -> bytes:
    return encode(message_fields("crm", "+79255070602", "по старому адресу"))


def test_the_old_url_works_only_while_the_provider_has_it(webhook: Webhook) -> None:
    assert webhook.post_form(body(), OLD).status_code == 401  # a portal installed since
    set_legacy(webhook, True)
    assert webhook.post_form(body(), OLD).status_code == 200
    assert webhook.post_form(body(), webhook.handler_url).status_code == 200  # the new one too
    set_legacy(webhook, False)
    assert webhook.post_form(body(), OLD).status_code == 401


def test_start_up_registers_the_new_url_and_retires_the_old(
    installed: Webhook,
    bitrix24: PortalEmulator,
    start_webhook: Callable[..., Webhook],
) -> None:
    set_legacy(installed, True)  # as the migration marks every portal installed before
    assert installed.post_form(body(), OLD).status_code == 200
    restarted = start_webhook(
        bitrix24_client_id=bitrix24.client_id,
        bitrix24_client_secret=SecretStr(bitrix24.client_secret),
        bitrix24_oauth_url=bitrix24.oauth_url,
        smsru_api_id=SecretStr(SMSRU_KEY),
    )
    wait_for(lambda: not legacy(restarted))
    assert bitrix24.providers["smsru"]["handler"] == restarted.server.url + portal_handler_path(
        MEMBER_ID, SECRET
    )
    assert installed.post_form(body(), OLD).status_code == 401
