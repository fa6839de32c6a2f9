"""The portal's users over real HTTP: `profile`, `user.admin`, and the frame's fields."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox.bitrix24.authserver import AuthorizationServer
from sandbox.bitrix24.portal import PortalEmulator


def call(portal: PortalEmulator, method: str, token: str) -> httpx.Response:
    return httpx.post(f"{portal.base_url}/rest/{method}", data={"auth": token}, timeout=5)


def result(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["result"]


def test_profile_and_user_admin_name_the_caller(bitrix24: PortalEmulator) -> None:
    admin = bitrix24.issue_access_token(1)["access_token"]
    employee = bitrix24.issue_access_token(2)["access_token"]
    assert result(call(bitrix24, "user.admin", admin)) is True
    assert result(call(bitrix24, "user.admin", employee)) is False
    profile = result(call(bitrix24, "profile", employee))
    assert {key: profile[key] for key in ("ID", "ADMIN", "NAME", "LAST_NAME")} == {
        "ID": "2",
        "ADMIN": False,
        "NAME": "Иван",
        "LAST_NAME": "Петров",
    }
    assert result(call(bitrix24, "profile", admin))["ADMIN"] is True
    bitrix24.admins.add(2)  # promoted: every method sees it at once
    assert result(call(bitrix24, "user.admin", employee)) is True
    refused = call(bitrix24, "user.admin", "made-up")
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_token")


def test_frame_fields_carry_a_fresh_token_of_that_user(
    bitrix24: PortalEmulator, authorization: AuthorizationServer
) -> None:
    query, form = bitrix24.frame_fields(2)
    assert set(query) == {"DOMAIN", "PROTOCOL", "LANG", "APP_SID"}
    assert (query["DOMAIN"], query["PROTOCOL"], query["LANG"]) == (bitrix24.domain, "0", "ru")
    assert set(form) == {
        "AUTH_ID",
        "AUTH_EXPIRES",
        "REFRESH_ID",
        "member_id",
        "status",
        "PLACEMENT",
        "PLACEMENT_OPTIONS",
    }
    assert (form["AUTH_EXPIRES"], form["member_id"], form["PLACEMENT"]) == (
        "3600",
        bitrix24.member_id,
        "DEFAULT",
    )
    info = httpx.post(
        f"{authorization.base_url}/rest/app.info", data={"auth": form["AUTH_ID"]}, timeout=5
    )
    answer = result(info)
    assert answer["user_id"] == 2 and answer["client_id"] == bitrix24.client_id
    assert answer["install"]["member_id"] == bitrix24.member_id
    assert result(call(bitrix24, "user.admin", form["AUTH_ID"])) is False
    again, other = bitrix24.frame_fields(1, "CRM_DEAL_DETAIL_TAB", lang="en")
    assert again["APP_SID"] != query["APP_SID"] and again["LANG"] == "en"
    assert other["AUTH_ID"] != form["AUTH_ID"] and other["PLACEMENT"] == "CRM_DEAL_DETAIL_TAB"
    with pytest.raises(LookupError):
        bitrix24.frame_fields(99)
    bitrix24.add_user(99, "Ольга", "Ким", admin=True)
    _, newcomer = bitrix24.frame_fields(99)
    assert result(call(bitrix24, "user.admin", newcomer["AUTH_ID"])) is True
