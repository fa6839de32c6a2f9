"""The whole loop over HTTP: install → Bitrix24's POST → SMS.ru → callback → the portal's status."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import httpx
from pydantic import SecretStr
from sqlalchemy import update
from sqlmodel import Session, select
from support import SECRET, SMSRU_KEY, Webhook, signed_callback, wait_for

from clients.smsru.callbacks import status_record
from flows.poll_statuses import poll_statuses
from models import Message, Portal
from models.types import utcnow
from sandbox.bitrix24.portal import PortalEmulator
from sandbox.smsru import SmsRuEmulator
from smsbridge.config import Settings
from smsbridge.registration import callback_path, handler_path


def stored_portal(webhook: Webhook) -> Portal:
    with Session(webhook.engine) as session:
        return session.exec(select(Portal)).one()


def portal_shows(bitrix24: PortalEmulator, message_id: str, status: str) -> None:
    wait_for(lambda: bitrix24.message_status(message_id) == status)


def test_install_stores_the_portal_and_registers_everything(
    installed: Webhook, bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> None:
    portal = stored_portal(installed)
    assert portal.member_id == bitrix24.member_id
    assert portal.application_token == bitrix24.application_token
    assert portal.client_endpoint == bitrix24.client_endpoint
    assert portal.access_token and portal.refresh_token
    handler = installed.server.url + handler_path(bitrix24.member_id, SECRET)
    assert bitrix24.providers["smsru"]["handler"] == handler
    assert smsru.callbacks(SMSRU_KEY) == [installed.server.url + callback_path(SECRET)]


def test_a_robot_message_travels_to_delivered(
    installed: Webhook, bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> None:
    message_id = bitrix24.send_message("bizproc", "+79255070602", "Ваш заказ отправлен")
    portal_shows(bitrix24, message_id, "delivered")
    assert bitrix24.status_history[message_id] == ["delivered"]  # pushed once, never regressed
    [sent] = smsru.sent
    assert (sent.phone, sent.text) == ("79255070602", "Ваш заказ отправлен")
    wait_for(lambda: not installed.messages()[0].push_pending)
    [message] = installed.messages()
    assert (message.state, message.pushed_status, message.push_error) == (
        "delivered",
        "delivered",
        None,
    )


def test_undelivered_and_failed_reach_the_portal(
    installed: Webhook, bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> None:
    smsru.set_final("79161234567", 104)
    smsru.set_number_error("79031234567", 207)
    undelivered = bitrix24.send_message("crm", "+79161234567", "истечёт", entity=("lead", 3))
    failed = bitrix24.send_message("sender", "+79031234567", "нет маршрута", author_user_id=None)
    portal_shows(bitrix24, undelivered, "undelivered")
    portal_shows(bitrix24, failed, "failed")
    assert [s.phone for s in smsru.sent] == ["79161234567"]  # the 207 number got no sms_id


def test_late_callbacks_leave_delivered(
    installed: Webhook, bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> None:
    smsru.callbacks_enabled = False
    message_id = bitrix24.send_message("crm", "+79255070602", "порядок")
    installed.wait_for(lambda: bool(installed.messages() and installed.messages()[0].sms_id))
    sms_id = installed.messages()[0].sms_id
    for code in (103, 102, 101):
        form = signed_callback([status_record(sms_id or "", code)])
        assert installed.http.post(callback_path(SECRET), data=form).text == "100"
    portal_shows(bitrix24, message_id, "delivered")
    time.sleep(0.3)  # room for any wrong push to arrive
    assert bitrix24.status_history[message_id] == ["delivered"]


def test_a_forged_callback_changes_nothing(
    installed: Webhook, bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> None:
    smsru.callbacks_enabled = False
    message_id = bitrix24.send_message("crm", "+79255070602", "подделка")
    installed.wait_for(lambda: bool(installed.messages() and installed.messages()[0].sms_id))
    record = status_record(installed.messages()[0].sms_id or "", 104)
    forged = signed_callback([record], key="guessed-key")
    assert installed.http.post(callback_path(SECRET), data=forged).status_code == 403
    time.sleep(0.3)
    assert installed.messages()[0].state == "sent"
    assert bitrix24.message_status(message_id) == "sent"  # as the portal set it itself


def test_a_lost_callback_is_recovered_by_poll_statuses(
    installed: Webhook, bitrix24: PortalEmulator, smsru: SmsRuEmulator, settings: Settings
) -> None:
    smsru.callbacks_enabled = False
    message_id = bitrix24.send_message("bizproc", "+79255070602", "потерянный колбэк")
    wait_for(lambda: bool(smsru.sent) and smsru.status_of(smsru.sent[0].sms_id) == 103)
    with Session(installed.engine) as session:
        session.execute(update(Message).values(next_poll_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    key = settings.replace(smsru_api_id=SecretStr(SMSRU_KEY))
    assert asyncio.run(poll_statuses.fn(settings=key))["advanced"] == 1
    portal_shows(bitrix24, message_id, "delivered")


def test_reinstall_after_an_app_update_restores_the_provider(
    installed: Webhook, bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> None:
    bitrix24.app_update()  # an app update deletes the app's providers
    assert bitrix24.providers == {}
    response = bitrix24.install(installed.server.url + "/bitrix24/install")
    assert response.json()["provider"] == "added"
    assert "smsru" in bitrix24.providers
    again = bitrix24.install(installed.server.url + "/bitrix24/install")
    assert (again.json()["provider"], again.json()["smsru_callback"]) == (
        "updated",
        "already registered",
    )
    assert len(smsru.callbacks(SMSRU_KEY)) == 1


def test_install_with_another_application_token_must_prove_itself(
    installed: Webhook, bitrix24: PortalEmulator
) -> None:
    bitrix24.application_token = "f" * 32  # a genuine re-install: the portal vouches for it
    assert bitrix24.install(installed.server.url + "/bitrix24/install").status_code == 200
    assert stored_portal(installed).application_token == "f" * 32
    forged = {
        "event": "ONAPPINSTALL",
        "auth[member_id]": bitrix24.member_id,
        "auth[access_token]": "stolen-or-made-up",
        "auth[refresh_token]": "made-up",
        "auth[application_token]": "0" * 32,
        "auth[client_endpoint]": "https://attacker.example/rest/",
    }
    response = installed.http.post("/bitrix24/install", data=forged)
    assert response.status_code == 403
    assert stored_portal(installed).application_token == "f" * 32


def test_malformed_installs(installed: Webhook) -> None:
    assert (
        installed.http.post("/bitrix24/install", data={"event": "ONAPPUNINSTALL"}).status_code
        == 400
    )
    partial = {"event": "ONAPPINSTALL", "auth[member_id]": "x"}
    response = installed.http.post("/bitrix24/install", data=partial)
    assert response.status_code == 400
    assert "auth[access_token]" in response.json()["error"]


def test_pushes_keep_flowing_when_access_tokens_expire(
    installed: Webhook, bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> None:
    first = bitrix24.send_message("crm", "+79255070602", "до истечения")
    portal_shows(bitrix24, first, "delivered")
    bitrix24.expire_access_tokens()
    second = bitrix24.send_message("crm", "+79161234567", "после истечения")
    portal_shows(bitrix24, second, "delivered")
    assert bitrix24.refresh_calls == 1
    assert stored_portal(installed).access_token != ""


def test_a_revoked_app_is_reported_and_statuses_wait(
    installed: Webhook, bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> None:
    bitrix24.revoke()
    message_id = bitrix24.send_message("crm", "+79255070602", "после отзыва", author_user_id=None)
    wait_for(lambda: stored_portal(installed).auth_error is not None)
    assert "invalid_grant" in (stored_portal(installed).auth_error or "")
    [message] = installed.messages()
    assert message.push_pending  # waiting, not lost
    assert bitrix24.message_status(message_id) == "sent"
    response = httpx.get(installed.server.url + "/healthz")
    assert response.status_code == 200
