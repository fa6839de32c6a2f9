"""The UI installer over real HTTP: Bitrix24 opens it in the frame with the admin's tokens."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from pydantic import SecretStr
from sqlmodel import Session, select
from support import SMSRU_KEY, Webhook

from models import Portal
from sandbox.bitrix24.portal import PortalEmulator
from sandbox.smsru import SmsRuEmulator

INSTALLER = "/bitrix24/app/install"


def test_the_installer_registers_and_finishes(
    start_webhook: Callable[..., Webhook], bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> None:
    webhook = start_webhook(
        bitrix24_client_id=bitrix24.client_id,
        bitrix24_client_secret=SecretStr(bitrix24.client_secret),
        # the portal's server last, so the installer has to try the first one and go on
        bitrix24_oauth_url=f"http://127.0.0.1:9,{bitrix24.oauth_url}",
        smsru_api_id=SecretStr(SMSRU_KEY),
    )

    def open_installer(user_id: int, **changes: str) -> tuple[int, str]:
        query, form = bitrix24.frame_fields(user_id)
        response = webhook.http.post(f"{INSTALLER}?{urlencode(query)}", data=form | changes)
        return response.status_code, response.text

    def portals() -> list[Portal]:
        with Session(webhook.engine) as session:
            return list(session.exec(select(Portal)).all())

    status, text = open_installer(2)  # an employee
    assert status == 403 and "administrator" in text and portals() == []
    status, text = open_installer(1, AUTH_ID="f" * 70)  # forged
    assert status in (401, 403) and portals() == [] and bitrix24.domain not in text
    assert bitrix24.providers == {}
    status, text = open_installer(1)
    assert status == 200, text
    assert "BX24.installFinish()" in text
    [portal] = portals()
    assert portal.member_id == bitrix24.member_id and portal.refresh_token
    assert portal.client_endpoint == bitrix24.client_endpoint
    assert portal.application_token is None  # the frame carried none: the event brings it
    assert "smsru" in bitrix24.providers
    bindings = bitrix24.event_bindings
    assert bindings["ONAPPINSTALL"] == webhook.server.url + "/bitrix24/install"
    assert {"ONAPPUNINSTALL", "ONAPPUPDATE"} <= set(bindings)
    # After installFinish Bitrix24 sends ONAPPINSTALL to the bound URL: it still works.
    assert bitrix24.install(bindings["ONAPPINSTALL"]).status_code == 200
    [portal] = portals()
    assert portal.application_token == bitrix24.application_token
