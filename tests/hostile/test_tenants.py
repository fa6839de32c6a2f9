"""One tenant against another, over real HTTP: each attack of issue 9 and its answer.

Portal A is the `installed` portal; the attacker is the admin of portal B, who installed our app
on B too (so B holds genuine tokens, sees its own HANDLER and knows its own SMS.ru key), or
anyone who can POST to our public URLs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlmodel import Session, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from support import APPLICATION_TOKEN, MEMBER_ID, SECRET, SMSRU_KEY, Webhook, wait_for

from clients.smsru.callbacks import signed_form, status_record
from models import Portal, StatusLog
from sandbox.bitrix24.messages import encode, message_fields
from sandbox.bitrix24.portal import PortalEmulator
from sandbox.server import BackgroundServer
from sandbox.smsru import SmsRuEmulator
from smsbridge.endpoints import UNINSTALL_PATH, callback_path

OTHER_MEMBER_ID = "b" * 32
OTHER_KEY = "tenant-b-smsru-key-BBBB-2222"


class Liar:
    """An attacker's server: answers every request as if all were well, and counts them."""

    def __init__(self) -> None:
        self.requests: list[str] = []

        async def anything(request: Request) -> JSONResponse:
            self.requests.append(request.url.path)
            install = {"member_id": MEMBER_ID, "domain": "sandbox.bitrix24.ru"}
            return JSONResponse(
                {"result": {"client_id": "local.sandbox", "install": install, "ID": 1}}
            )

        self.app = Starlette(routes=[Route("/{path:path}", anything, methods=["GET", "POST"])])


@pytest.fixture
def liar() -> Iterator[tuple[Liar, str]]:
    liar = Liar()
    with BackgroundServer(liar.app) as server:
        yield liar, server.url


@pytest.fixture
def tenant_b(installed: Webhook, serve_portal: Callable[..., PortalEmulator]) -> PortalEmulator:
    """Portal B, with our app genuinely installed (same authorization server as A)."""
    other = serve_portal(member_id=OTHER_MEMBER_ID, domain="tenant-b.bitrix24.ru")
    assert other.install(installed.server.url + "/bitrix24/install").status_code == 200
    return other


def portal_row(webhook: Webhook, member_id: str = MEMBER_ID) -> Portal | None:
    with Session(webhook.engine) as session:
        return session.exec(select(Portal).where(Portal.member_id == member_id)).first()


def install_event(auth: dict[str, str]) -> dict[str, str]:
    return {"event": "ONAPPINSTALL"} | {f"auth[{key}]": value for key, value in auth.items()}


# --- a forged install -----------------------------------------------------------------------


def test_forged_install_through_the_attackers_own_authorization_server(
    start_webhook: Callable[..., Webhook],
    bitrix24: PortalEmulator,
    liar: tuple[Liar, str],
) -> None:
    """The event names the attacker's server as its authorization server and REST endpoint:
    refused before any request goes there, and nothing is stored."""
    server, url = liar
    webhook = start_webhook(
        bitrix24_client_id=bitrix24.client_id, bitrix24_oauth_url=bitrix24.oauth_url
    )
    forged = install_event(
        {
            "member_id": "c" * 32,
            "access_token": "made-up",
            "refresh_token": "made-up",
            "application_token": "0" * 32,
            "domain": "victim.bitrix24.ru",
            "server_endpoint": f"{url}/rest/",
            "client_endpoint": f"{url}/rest/",
        }
    )
    response = webhook.http.post("/bitrix24/install", data=forged)
    assert response.status_code == 403
    assert "trusted" in response.json()["error"]
    assert server.requests == []
    assert portal_row(webhook, "c" * 32) is None


def test_forged_install_through_the_real_authorization_server(
    installed: Webhook,
    bitrix24: PortalEmulator,
    tenant_b: PortalEmulator,
    liar: tuple[Liar, str],
) -> None:
    """B's admin holds a genuine token of B and claims to be A (or names their own endpoint):
    the real authorization server says whose token it is, and the event's endpoint is never
    called. A keeps its tokens and its REST endpoint."""
    server, url = liar
    before = portal_row(installed)
    assert before is not None
    genuine_b = tenant_b.issue_tokens()
    claims_a = install_event(
        {
            "member_id": MEMBER_ID,
            "access_token": genuine_b["access_token"],
            "refresh_token": genuine_b["refresh_token"],
            "application_token": "0" * 32,
            "domain": bitrix24.domain,
            "server_endpoint": genuine_b["server_endpoint"],
            "client_endpoint": f"{url}/rest/",
        }
    )
    response = installed.http.post("/bitrix24/install", data=claims_a)
    assert response.status_code == 403
    assert "member_id" in response.json()["error"]
    after = portal_row(installed)
    assert after is not None
    assert (after.access_token, after.application_token, after.client_endpoint) == (
        before.access_token,
        APPLICATION_TOKEN,
        bitrix24.client_endpoint,
    )
    # B, as itself, with a made-up REST endpoint: stored with the endpoint the server gives.
    as_b = dict(claims_a) | {
        "auth[member_id]": OTHER_MEMBER_ID,
        "auth[domain]": tenant_b.domain,
        "auth[application_token]": tenant_b.application_token,
    }
    assert installed.http.post("/bitrix24/install", data=as_b).status_code == 200
    stored_b = portal_row(installed, OTHER_MEMBER_ID)
    assert stored_b is not None and stored_b.client_endpoint == tenant_b.client_endpoint
    assert server.requests == []


# --- another tenant's HANDLER ---------------------------------------------------------------


def test_another_tenants_handler_opens_nothing(
    installed: Webhook, tenant_b: PortalEmulator
) -> None:
    """B's admin sees B's HANDLER; with A's member_id in it (and no auth block, as a robot
    without author sends) it is refused, and it reveals neither A's secret nor the master."""
    b_handler = tenant_b.providers["smsru"]["handler"]
    b_secret = b_handler.rsplit("/", 1)[1]
    assert SECRET not in b_handler
    a_path = f"/bitrix24/handler/{MEMBER_ID}/{b_secret}"
    body = encode(message_fields("crm", "+79255070602", "за чужой счёт"))
    response = installed.post_form(body, a_path)
    assert response.status_code == 401
    assert installed.messages() == []
    # B's own URL still works for B.
    assert installed.post_form(body, b_handler.removeprefix(installed.server.url)).status_code == (
        200
    )


# --- another tenant's signed callback -------------------------------------------------------


def test_another_tenants_signed_callback_moves_nothing_of_ours(
    installed: Webhook, bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> None:
    """B's admin signs a callback with B's own SMS.ru key naming A's sms_id: answered 100 (so
    SMS.ru would stop), logged, and A's message does not move; A's key still moves it."""
    if not smsru.knows(OTHER_KEY):
        smsru.add_account(OTHER_KEY)
    with Session(installed.engine) as session:
        session.add(Portal(member_id=OTHER_MEMBER_ID, smsru_api_id=OTHER_KEY))
        session.commit()
    smsru.callbacks_enabled = False
    bitrix24.send_message("crm", "+79255070602", "моё")
    wait_for(lambda: any(m.sms_id for m in installed.messages()))
    [message] = installed.messages()
    assert message.state == "sent"
    forged = signed_form(OTHER_KEY, [status_record(message.sms_id or "", 104)])
    response = installed.http.post(callback_path(SECRET), data=forged)
    assert (response.status_code, response.text) == (200, "100")
    [after] = installed.messages()
    assert after.state == "sent"
    with Session(installed.engine) as session:
        sources = session.exec(select(StatusLog.source).where(StatusLog.message_pk == after.id))
        assert "callback" not in list(sources)
    genuine = signed_form(SMSRU_KEY, [status_record(message.sms_id or "", 103)])
    assert installed.http.post(callback_path(SECRET), data=genuine).text == "100"
    assert installed.messages()[0].state == "delivered"


# --- a forged and a replayed uninstall ------------------------------------------------------


def uninstall_form(member_id: str, application_token: str, clean: str = "0") -> dict[str, str]:
    return {
        "event": "ONAPPUNINSTALL",
        "data[LANGUAGE_ID]": "ru",
        "data[CLEAN]": clean,
        "auth[member_id]": member_id,
        "auth[application_token]": application_token,
    }


def test_forged_uninstall_is_refused(installed: Webhook, bitrix24: PortalEmulator) -> None:
    for token in ("0" * 32, APPLICATION_TOKEN[:-1] + "0", APPLICATION_TOKEN + "0"):
        forged = uninstall_form(MEMBER_ID, token, clean="1")
        assert installed.http.post(UNINSTALL_PATH, data=forged).status_code == 403
    unknown = uninstall_form("d" * 32, APPLICATION_TOKEN)
    assert installed.http.post(UNINSTALL_PATH, data=unknown).status_code == 403
    portal = portal_row(installed)
    assert portal is not None and portal.refresh_token and portal.uninstalled_at is None
    assert installed.post_message().status_code == 200  # still taking messages


def test_replayed_uninstall_is_refused_after_a_new_install(
    installed: Webhook, bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> None:
    answer = bitrix24.uninstall()
    assert answer is not None and answer.status_code == 200, answer and answer.text
    [(url, captured)] = [post for post in bitrix24.event_posts if "UNINSTALL" in post[1]["event"]]
    assert installed.http.post(url, data=captured).status_code == 403  # once is enough
    assert bitrix24.install(installed.server.url + "/bitrix24/install").status_code == 200
    replay = httpx.post(url, data=captured, timeout=10)
    assert replay.status_code == 403
    portal = portal_row(installed)
    assert portal is not None and portal.refresh_token and portal.uninstalled_at is None
    message_id = bitrix24.send_message("crm", "+79255070602", "после переустановки")
    wait_for(lambda: bitrix24.message_status(message_id) == "delivered")
