"""The whole loop over HTTP: install → Bitrix24's POST → SMS.ru → callback → the portal's status.

The loop's faults each have one cheap test and one end-to-end superset elsewhere: forged callbacks
(webhook/test_smsru_callback.py, hostile/test_properties.py), late and reordered callbacks
(webhook/test_smsru_callback.py, faults/), a lost callback polled (flows/test_poll_statuses.py),
a revoked app (webhook/test_push_queue.py, faults/).
"""

from __future__ import annotations

from sqlmodel import Session, select
from support import SECRET, SMSRU_KEY, Webhook, wait_for

from models import Portal
from sandbox.bitrix24.portal import PortalEmulator
from sandbox.smsru import SmsRuEmulator
from smsbridge.endpoints import callback_path, portal_handler_path


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
    handler = installed.server.url + portal_handler_path(bitrix24.member_id, SECRET)
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


def test_an_app_update_restores_the_provider_by_itself(
    installed: Webhook, bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> None:
    handler = bitrix24.providers["smsru"]["handler"]
    # An app update deletes the app's providers, then POSTs ONAPPUPDATE to the bound handler.
    update = bitrix24.app_update()
    assert update is not None and update.status_code == 200, update and update.text
    assert update.json()["provider"] == "added"
    assert bitrix24.providers["smsru"]["handler"] == handler
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
        "auth[server_endpoint]": f"{bitrix24.oauth_url}/rest/",
    }
    response = installed.http.post("/bitrix24/install", data=forged)
    assert response.status_code == 401
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
