"""The portal emulator's authorization server (apart from the portals), event bindings and
uninstall, over real HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sandbox.bitrix24.authserver import AuthorizationServer
from sandbox.bitrix24.portal import PortalEmulator


def post(url: str, **body: Any) -> httpx.Response:
    return httpx.post(url, json=body, timeout=5, trust_env=False)


def test_one_authorization_server_vouches_for_each_portals_tokens(
    authorization: AuthorizationServer, serve_portal: Callable[..., PortalEmulator]
) -> None:
    a = serve_portal(member_id="a" * 32, domain="a.bitrix24.ru")
    b = serve_portal(member_id="b" * 32, domain="b.bitrix24.com")
    assert a.oauth_url == b.oauth_url == authorization.base_url != a.base_url
    tokens_a, tokens_b = a.issue_tokens(), b.issue_tokens()
    assert tokens_a["server_endpoint"] == f"{authorization.base_url}/rest/"
    assert tokens_a["client_endpoint"] == f"{a.base_url}/rest/"
    info = post(f"{authorization.base_url}/rest/app.info", auth=tokens_b["access_token"])
    assert info.status_code == 200
    result = info.json()["result"]
    assert result["client_id"] == b.client_id
    install = result["install"]
    assert (install["member_id"], install["domain"], install["client_endpoint"]) == (
        b.member_id,
        "b.bitrix24.com",
        f"{b.base_url}/rest/",
    )
    refused = post(f"{authorization.base_url}/rest/app.info", auth="made-up")
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_token")
    refreshed = httpx.post(
        f"{authorization.base_url}/oauth/token/",
        data={
            "grant_type": "refresh_token",
            "client_id": a.client_id,
            "client_secret": a.client_secret,
            "refresh_token": tokens_a["refresh_token"],
        },
    )
    assert refreshed.status_code == 200 and refreshed.json()["member_id"] == a.member_id
    assert httpx.post(f"{a.base_url}/oauth/token/").status_code == 404  # not the portal's


def test_event_bind_get_and_uninstall(serve_portal: Callable[..., PortalEmulator]) -> None:
    portal = serve_portal()
    token = portal.issue_tokens()["access_token"]
    rest = f"{portal.base_url}/rest/"
    bind = {"event": "ONAPPUNINSTALL", "handler": "http://127.0.0.1:9/uninstall", "auth": token}
    assert post(rest + "event.bind", **bind).json()["result"] is True
    again = post(rest + "event.bind", **bind)
    assert (again.status_code, again.json()["error_description"]) == (400, "Handler already binded")
    user = portal.issue_access_token(7)["access_token"]  # not an admin
    assert post(rest + "event.bind", **(bind | {"auth": user})).status_code == 403
    listed = post(rest + "event.get", auth=token).json()["result"]
    assert [(row["event"], row["handler"]) for row in listed] == [
        ("ONAPPUNINSTALL", "http://127.0.0.1:9/uninstall")
    ]
    old_application_token = portal.application_token
    with pytest.raises(httpx.ConnectError):  # the POST is made; nobody listens on port 9
        portal.uninstall()
    assert portal.event_bindings == {} and portal.providers == {}
    assert portal.application_token != old_application_token
    assert post(rest + "event.get", auth=token).status_code == 401  # every token is dead
    [(url, fields)] = portal.event_posts
    assert url == "http://127.0.0.1:9/uninstall"
    assert fields["auth[application_token]"] == old_application_token
    assert fields["data[CLEAN]"] == "0" and "auth[access_token]" not in fields
