"""A portal's whole life over HTTP: install, send, statuses, update, uninstall, install again."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from pydantic import SecretStr
from sqlmodel import Session, select
from support import SECRET, SMSRU_KEY, Webhook, wait_for
from support.options import FAST

from clients.smsru.callbacks import signed_form, status_record
from models import Message, Portal
from sandbox.bitrix24.authserver import AuthorizationServer
from sandbox.bitrix24.portal import PortalEmulator
from sandbox.smsru import SmsRuEmulator
from smsbridge.endpoints import callback_path
from smsbridge.portals.lifecycle import UNINSTALLED


def stored(webhook: Webhook) -> list[Portal]:
    with Session(webhook.engine) as session:
        return list(session.exec(select(Portal)).all())


def test_install_send_update_uninstall_install_again(
    start_webhook: Callable[..., Webhook],
    bitrix24: PortalEmulator,
    authorization: AuthorizationServer,
    smsru: SmsRuEmulator,
) -> None:
    # A retry waits long, so the messages refused in an outage sit queued until the uninstall.
    installed = start_webhook(
        replace(FAST, backoff_base=60.0, backoff_cap=60.0),
        bitrix24_client_id=bitrix24.client_id,
        bitrix24_client_secret=SecretStr(bitrix24.client_secret),
        bitrix24_oauth_url=bitrix24.oauth_url,
        smsru_api_id=SecretStr(SMSRU_KEY),
    )
    install_url = installed.server.url + "/bitrix24/install"
    assert bitrix24.install(install_url).status_code == 200
    assert set(bitrix24.event_bindings) == {"ONAPPUNINSTALL", "ONAPPUPDATE"}
    first = bitrix24.send_message("crm", "+79255070602", "первое")
    wait_for(lambda: bitrix24.message_status(first) == "delivered")

    update = bitrix24.app_update()  # the portal deletes our provider and tells us
    assert update is not None and update.status_code == 200, update and update.text
    assert "smsru" in bitrix24.providers

    smsru.callbacks_enabled = False
    waiting = bitrix24.send_message("crm", "+79255070603", "ждёт статуса")
    wait_for(
        lambda: any(m.message_id == waiting and m.state == "sent" for m in installed.messages())
    )
    smsru.set_outage("http500")  # the next ones stay queued, retried
    queued = [bitrix24.send_message("crm", "+79255070604", f"в очереди {n}") for n in (1, 2)]
    wait_for(
        lambda: all(
            m.state == "queued" and m.attempts >= 1
            for m in installed.messages()
            if m.message_id in queued
        )
    )

    answer = bitrix24.uninstall()
    assert answer is not None and answer.status_code == 200, answer and answer.text
    assert answer.json()["failed"] == 2
    [portal] = stored(installed)
    assert (portal.access_token, portal.refresh_token, portal.application_token) == (
        None,
        None,
        None,
    )
    assert portal.uninstalled_at is not None
    by_id = {m.message_id: m for m in installed.messages()}
    assert [(by_id[q].state, by_id[q].error) for q in queued] == [("failed", UNINSTALLED)] * 2

    # Nothing of ours reaches the portal or its authorization server any more: a status that
    # would be pushed, a sender with SMS.ru back, expired tokens that would be refreshed.
    portal_requests, server_requests = len(bitrix24.request_log), len(authorization.requests)
    smsru.set_outage(None)
    sms_id = by_id[waiting].sms_id or ""
    callback = signed_form(SMSRU_KEY, [status_record(sms_id, 103)])
    assert installed.http.post(callback_path(SECRET), data=callback).text == "100"
    wait_for(lambda: {m.message_id: m for m in installed.messages()}[waiting].state == "delivered")
    assert installed.post_message().status_code == 403  # its HANDLER takes nothing
    time.sleep(1.0)
    assert (len(bitrix24.request_log), len(authorization.requests)) == (
        portal_requests,
        server_requests,
    )
    assert [m.state for m in installed.messages() if m.message_id in queued] == ["failed"] * 2
    assert len(smsru.sent) == 2  # the first message and the one waiting for its status

    assert bitrix24.install(install_url).status_code == 200  # a fresh start
    [portal] = stored(installed)
    assert portal.uninstalled_at is None and portal.auth_error is None and portal.refresh_token
    assert portal.application_token == bitrix24.application_token
    again = bitrix24.send_message("crm", "+79255070602", "снова с нами")
    wait_for(lambda: bitrix24.message_status(again) == "sent")
    smsru.callbacks_enabled = True
    wait_for(lambda: bitrix24.message_status(again) == "delivered")


def test_uninstall_with_clean_deletes_the_portals_data(
    installed: Webhook, bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> None:
    message_id = bitrix24.send_message("crm", "+79255070602", "личные данные")
    wait_for(lambda: bitrix24.message_status(message_id) == "delivered")
    answer = bitrix24.uninstall(clean=True)
    assert answer is not None and answer.status_code == 200, answer and answer.text
    assert stored(installed) == []
    with Session(installed.engine) as session:
        assert session.exec(select(Message)).all() == []
    assert bitrix24.install(installed.server.url + "/bitrix24/install").status_code == 200
    [portal] = stored(installed)
    assert portal.refresh_token and portal.uninstalled_at is None
