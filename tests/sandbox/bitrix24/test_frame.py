"""The portal's page opens the app the way Bitrix24 does (reference A1, A4), over real HTTP.

What a browser then does with the page (the form submitted into the frame, BX24 by postMessage)
is tested in `tests/browser/`; here: the fields, who gets the installer, and installFinish.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from sandbox.bitrix24.authserver import AuthorizationServer
from sandbox.bitrix24.portal import PortalEmulator
from sandbox.bitrix24.serve import portal_app, served_at
from sandbox.server import BackgroundServer

APP_URL = "https://app.example/bitrix24/app"
INSTALLER_URL = "https://app.example/bitrix24/app/install"


class PageParts(HTMLParser):
    """The frame, the form posted into it, its hidden fields, the notice and the BX24 data."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.frame: dict[str, str | None] = {}
        self.form: dict[str, str | None] = {}
        self.fields: dict[str, str] = {}
        self.notice = ""
        self.data: dict[str, object] = {}
        self._in: str | None = None
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "iframe":
            self.frame = attributes
        elif tag == "form":
            self.form = attributes
        elif tag == "input":
            self.fields[str(attributes["name"])] = str(attributes["value"])
        self._in = attributes.get("id")

    def handle_data(self, data: str) -> None:
        if self._in == "portal-notice":
            self.notice += data
        elif self._in == "bx24-frame":
            self.data = json.loads(data)

    def handle_endtag(self, tag: str) -> None:
        self._in = None


@pytest.fixture
def portal() -> Iterator[PortalEmulator]:
    emulator, authorization = PortalEmulator(), AuthorizationServer()
    with BackgroundServer(portal_app(emulator, authorization, control=True)) as server:
        served_at(emulator, authorization, server.url)
        emulator.app_url, emulator.installer_url = APP_URL, INSTALLER_URL
        yield emulator


@pytest.fixture
def http(portal: PortalEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=portal.base_url, trust_env=False, timeout=10) as client:
        yield client


def opened(http: httpx.Client, query: str = "") -> PageParts:
    page = http.get(f"/{query}")
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    return PageParts(page.text)


def test_the_admin_gets_the_app_posted_into_its_frame_with_the_frame_fields(
    http: httpx.Client, portal: PortalEmulator
) -> None:
    parts = opened(http)
    action = urlsplit(str(parts.form["action"]))
    assert f"{action.scheme}://{action.netloc}{action.path}" == APP_URL
    query = {key: values[0] for key, values in parse_qs(action.query).items()}
    assert query.keys() == {"DOMAIN", "PROTOCOL", "LANG", "APP_SID"}
    assert query["DOMAIN"] == portal.domain and query["PROTOCOL"] == "0"  # served over http
    assert query["LANG"] == "ru"
    assert parts.form["method"] == "post" and parts.form["target"] == parts.frame["name"]
    fields = parts.fields
    assert fields.keys() == {
        "AUTH_ID",
        "AUTH_EXPIRES",
        "REFRESH_ID",
        "member_id",
        "status",
        "PLACEMENT",
        "PLACEMENT_OPTIONS",
    }
    assert portal.authenticate(fields["AUTH_ID"]) == 1  # a live token of the opening user
    assert portal.holds_refresh_token(fields["REFRESH_ID"])
    assert fields["AUTH_EXPIRES"] == "3600" and fields["member_id"] == portal.member_id
    assert (fields["status"], fields["PLACEMENT"]) == ("L", "DEFAULT")
    json.loads(fields["PLACEMENT_OPTIONS"])  # a JSON string
    served = urlsplit(portal.base_url)
    assert parts.frame["name"] == f"{served.netloc}|0|{query['APP_SID']}"  # bx24.js reads it
    assert parts.data["app_origin"] == "https://app.example"
    init = parts.data["init"]
    assert isinstance(init, dict) and init["IS_ADMIN"] is True and init["INSTALL"] is False


def test_each_opening_has_its_own_app_sid_and_token(http: httpx.Client) -> None:
    first, second = opened(http), opened(http)
    assert first.data["sid"] != second.data["sid"]
    assert first.fields["AUTH_ID"] != second.fields["AUTH_ID"]


def test_an_ordinary_user_in_english(http: httpx.Client, portal: PortalEmulator) -> None:
    parts = opened(http, "?user=2&lang=en")
    assert portal.authenticate(parts.fields["AUTH_ID"]) == 2
    assert "LANG=en" in str(parts.form["action"])
    init = parts.data["init"]
    assert isinstance(init, dict) and init["IS_ADMIN"] is False and init["LANG"] == "en"


@pytest.mark.parametrize("query", ["?user=0", "?user=x", "?user=%D9%A1", "?lang=de"])
def test_a_bad_query_is_refused_with_a_reason(http: httpx.Client, query: str) -> None:
    answer = http.get(f"/{query}")
    assert answer.status_code == 400
    assert "must be" in answer.text


def test_a_user_the_portal_does_not_have_is_refused(http: httpx.Client) -> None:
    answer = http.get("/?user=3")
    assert answer.status_code == 404
    assert "no user 3" in answer.text


def test_without_the_apps_address_the_page_says_so(
    http: httpx.Client, portal: PortalEmulator
) -> None:
    portal.app_url = None
    answer = http.get("/")
    assert answer.status_code == 503
    assert "portal.app_url" in PageParts(answer.text).notice


def test_before_install_finish_the_admin_gets_the_installer_and_others_a_notice(
    http: httpx.Client, portal: PortalEmulator
) -> None:
    portal.installed = False
    admin = opened(http)
    assert str(admin.form["action"]).startswith(INSTALLER_URL + "?")
    init = admin.data["init"]
    assert isinstance(init, dict) and init["INSTALL"] is True
    user = opened(http, "?user=2")
    assert not user.form and not user.fields
    assert "не полностью установлено" in user.notice


def test_the_installers_token_is_vouched_for_as_not_installed_yet(
    http: httpx.Client, portal: PortalEmulator
) -> None:
    portal.installed = False
    token = opened(http).fields["AUTH_ID"]
    info = http.post(f"{portal.oauth_url}/rest/app.info", json={"auth": token}).json()["result"]
    assert info["install"]["installed"] is False
    assert info["install"]["member_id"] == portal.member_id
    rest = http.post("/rest/app.info", json={"auth": token}).json()["result"]
    assert rest["INSTALLED"] is False


def test_install_finish_is_an_admins(http: httpx.Client, portal: PortalEmulator) -> None:
    employee = opened(http, "?user=2").data["sid"]
    answer = http.post("/_sandbox/app/install-finish", json={"sid": employee})
    assert answer.status_code == 403
    for body in ({"sid": "forged"}, {}, ["sid"]):
        assert http.post("/_sandbox/app/install-finish", json=body).status_code == 400
    assert http.post("/_sandbox/app/install-finish", content=b"{").status_code == 400


def test_install_finish_installs_without_onappinstall_unless_the_app_bound_it(
    http: httpx.Client, portal: PortalEmulator
) -> None:
    portal.installed = False
    sid = opened(http).data["sid"]
    answer = http.post("/_sandbox/app/install-finish", json={"sid": sid})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"installed": True, "onappinstall_answer": None}
    assert portal.installed and portal.event_posts == []
    assert str(opened(http).form["action"]).startswith(APP_URL + "?")


def test_install_finish_delivers_onappinstall_to_the_bound_handler(
    http: httpx.Client, portal: PortalEmulator
) -> None:
    received: list[dict[str, str]] = []

    async def handler(request: Request) -> PlainTextResponse:
        received.append(dict(parse_qsl((await request.body()).decode())))
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/install", handler, methods=["POST"])])
    with BackgroundServer(app) as server:
        portal.installed = False
        parts = opened(http)
        bound = http.post(
            "/rest/event.bind",
            json={
                "auth": parts.fields["AUTH_ID"],
                "event": "ONAPPINSTALL",
                "handler": server.url + "/install",
            },
        )
        assert bound.status_code == 200, bound.text
        answer = http.post("/_sandbox/app/install-finish", json={"sid": parts.data["sid"]})
    assert answer.json() == {"installed": True, "onappinstall_answer": 200}
    assert [event["event"] for event in received] == ["ONAPPINSTALL"]
    assert received[0]["auth[member_id]"] == portal.member_id
    assert received[0]["auth[application_token]"] == portal.application_token


@pytest.mark.parametrize("path", ["/api/v1/", "/_sandbox/portal.js"])
def test_the_scripts_are_served_as_javascript(http: httpx.Client, path: str) -> None:
    answer = http.get(path)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/javascript")
    assert "postMessage" in answer.text


def test_the_sandbox_overview_moved_beside_the_page(http: httpx.Client) -> None:
    assert http.get("/_sandbox/").json()["member_id"]
