"""The Bitrix24 portal emulator answers like the reference and the recordings, over real HTTP.

Each test gets its own portal on its own loopback server, so switches never leak between tests.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from support import wait_for

from sandbox.bitrix24.authserver import AuthorizationServer
from sandbox.bitrix24.messages import FORM_CONTENT_TYPE
from sandbox.bitrix24.portal import PortalEmulator
from sandbox.bitrix24.serve import portal_app, served_at
from sandbox.server import BackgroundServer
from webhook.forms import parse_php_form

APPLICATION_TOKEN = "51856fefc120afa4b628cc82d3935cce"
TIME_KEYS = {
    "start",
    "finish",
    "duration",
    "processing",
    "date_start",
    "date_finish",
    "operating_reset_at",
    "operating",
}


@pytest.fixture
def portal() -> Iterator[PortalEmulator]:
    emulator, authorization = (
        PortalEmulator(application_token=APPLICATION_TOKEN),
        AuthorizationServer(),
    )
    with BackgroundServer(portal_app(emulator, authorization)) as server:
        served_at(emulator, authorization, server.url)
        yield emulator


@pytest.fixture
def http(portal: PortalEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=portal.base_url, trust_env=False, timeout=5) as client:
        yield client


@pytest.fixture
def token(portal: PortalEmulator) -> str:
    return str(portal.issue_tokens()["access_token"])


def rest(http: httpx.Client, method: str, token: str | None, **params: Any) -> httpx.Response:
    body = params | ({"auth": token} if token else {})
    return http.post(f"/rest/{method}", json=body)


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body["time"]) == TIME_KEYS
    return body["result"]


def error(response: httpx.Response, status: int, code: str, description: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == code
    if description is not None:
        assert body["error_description"] == description


def refresh(http: httpx.Client, portal: PortalEmulator, refresh_token: str) -> httpx.Response:
    return http.get(
        f"{portal.oauth_url}/oauth/token/",
        params={
            "grant_type": "refresh_token",
            "client_id": portal.client_id,
            "client_secret": portal.client_secret,
            "refresh_token": refresh_token,
        },
    )


def recorded_response(recorded: Path, name: str) -> Any:
    return json.loads((recorded / "bitrix24" / "rest" / name).read_text())["response"]


class Receiver:
    """A tiny app standing in for our service: records each POST, answers `status`."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, bytes]] = []
        self.status = 200
        self.app = Starlette(routes=[Route("/{path:path}", self._receive, methods=["POST"])])

    async def _receive(self, request: Request) -> Response:
        self.posts.append((request.headers.get("content-type", ""), await request.body()))
        return PlainTextResponse("ok", status_code=self.status)


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    target = Receiver()
    with BackgroundServer(target.app) as server:
        yield target, server.url


# --- OAuth ----------------------------------------------------------------------------------------


def test_refresh_issues_a_new_pair_and_the_used_refresh_token_dies(
    portal: PortalEmulator, http: httpx.Client, recorded: Path
) -> None:
    first = portal.issue_tokens()
    response = refresh(http, portal, first["refresh_token"])
    assert response.status_code == 200
    assert "\\/" in response.text  # PHP-escaped slashes, as in the observed body
    fresh = response.json()
    documented = json.loads(
        (recorded / "bitrix24" / "docs" / "docs_oauth_refresh_response.json").read_text()
    )["body_json"]
    observed = json.loads(
        (recorded / "bitrix24" / "rest" / "oauth_token_responses_observed.json").read_text()
    )["items"][0]["body_json"]
    assert list(fresh) == list(observed)
    assert set(fresh) == set(documented)
    assert fresh["expires_in"] == 3600 and fresh["expires"] - time.time() > 3590
    assert fresh["client_endpoint"] == f"{portal.base_url}/rest/"
    assert fresh["member_id"] == portal.member_id and fresh["user_id"] == 1
    assert fresh["access_token"] != first["access_token"]
    assert fresh["refresh_token"] != first["refresh_token"]

    again = refresh(http, portal, first["refresh_token"])
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert ok(rest(http, "app.info", fresh["access_token"]))["CODE"] == "local.sandbox"
    assert ok(rest(http, "app.info", first["access_token"]))  # valid until its own expiry
    newer = refresh(http, portal, fresh["refresh_token"])
    assert newer.status_code == 200
    assert portal.refresh_calls == 3


def test_oauth_refuses_a_wrong_client_and_unknown_grants(
    portal: PortalEmulator, http: httpx.Client
) -> None:
    tokens = portal.issue_tokens()
    wrong = {
        "grant_type": "refresh_token",
        "client_id": portal.client_id,
        "client_secret": "nope",
        "refresh_token": tokens["refresh_token"],
    }
    response = http.post(f"{portal.oauth_url}/oauth/token/", data=wrong)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_client")
    response = http.get(
        f"{portal.oauth_url}/oauth/token/", params=wrong | {"grant_type": "password"}
    )
    assert response.json()["error"] == "invalid_request"
    assert refresh(http, portal, tokens["refresh_token"]).status_code == 200  # still unused
    assert portal.refresh_calls == 3


def test_revoke_kills_refresh_and_access_tokens(portal: PortalEmulator, http: httpx.Client) -> None:
    tokens = portal.issue_tokens()
    portal.revoke()
    response = refresh(http, portal, tokens["refresh_token"])
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")
    error(rest(http, "app.info", tokens["access_token"]), 401, "invalid_token")


# --- REST authentication and parsing --------------------------------------------------------------


def test_rest_auth_errors(portal: PortalEmulator, http: httpx.Client, token: str) -> None:
    error(rest(http, "app.info", None), 401, "NO_AUTH_FOUND", "Wrong authorization data")
    error(rest(http, "app.info", "0" * 70), 401, "invalid_token")
    portal.expire_access_tokens()
    error(
        rest(http, "app.info", token),
        401,
        "expired_token",
        "The access token provided has expired",
    )
    assert ok(rest(http, "app.info", portal.issue_tokens()["access_token"]))


def test_rest_takes_query_form_and_json_and_any_key_case(
    portal: PortalEmulator, http: httpx.Client, token: str
) -> None:
    assert ok(http.get("/rest/app.info.json", params={"auth": token}))["INSTALLED"] is True
    form = urlencode({"auth": token, "code": "smsru", "type": "SMS", "name[ru]": "СМС"})
    form += "&handler=" + "https%3A%2F%2Fbridge.example.com%2Fh"
    response = http.post(
        "/rest/messageservice.sender.add",
        content=form,
        headers={"Content-Type": FORM_CONTENT_TYPE},
    )
    assert ok(response) is True
    assert portal.providers["smsru"] == {
        "handler": "https://bridge.example.com/h",
        "name": {"ru": "СМС"},
        "description": None,
    }
    response = http.post(
        "/rest/messageservice.sender.list", params={"auth": token}, json={"unused": 1}
    )
    assert ok(response) == ["smsru"]
    error(rest(http, "no.such.method", token), 404, "ERROR_METHOD_NOT_FOUND", "Method not found!")


def test_forms_are_read_as_php_reads_them(
    portal: PortalEmulator, http: httpx.Client, token: str
) -> None:
    form = (
        f"auth={token}&fields[NAME]=Ivan&fields[NAME]=Anna&fields[PHONE][][VALUE]=%2B7925"
        "&fields[PHONE][][VALUE]=%2B7926&fields[COMMENTS=dropped&fields.x=ignored&=&&"
    )
    response = http.post(
        "/rest/crm.contact.add", content=form, headers={"Content-Type": FORM_CONTENT_TYPE}
    )
    contact = portal.entity("contact", ok(response))
    assert contact["NAME"] == "Anna"  # the last value wins
    assert [phone["VALUE"] for phone in contact["PHONE"]] == ["+7925", "+7926"]
    assert contact["COMMENTS"] is None
    command = "crm.contact.update?id={}&fields[NAME]=B%FF&fields[LAST_NAME]=C+D".format(
        contact["ID"]
    )
    assert ok(rest(http, "batch", token, cmd=[command]))["result_error"] == []
    assert portal.entity("contact", int(contact["ID"]))["LAST_NAME"] == "C D"


# --- rate limit and faults ------------------------------------------------------------------------


def test_rate_limit_is_a_leaky_bucket(
    portal: PortalEmulator, http: httpx.Client, token: str, recorded: Path
) -> None:
    observed = json.loads(
        (recorded / "bitrix24" / "rest" / "error_query_limit_exceeded_observed.json").read_text()
    )["body_json"]
    began = time.monotonic()
    statuses = [rest(http, "app.info", token).status_code for _ in range(60)]
    elapsed = time.monotonic() - began
    refused = [s for s in statuses if s == 503]
    assert set(statuses) == {200, 503}
    assert 60 - 50 - int(elapsed * portal.rate) - 1 <= len(refused) <= 10
    assert portal.limit_exceeded_count == len(refused)
    assert [entry.status for entry in portal.request_log] == statuses
    last = rest(http, "app.info", token)
    if last.status_code == 503:
        assert last.json() == observed
    # It drains at 2/s: a request goes through again within 0.6 s (refused ones do not fill it).
    wait_for(lambda: rest(http, "app.info", token).status_code == 200, timeout=0.6)


def test_a_batch_counts_as_one_request(
    portal: PortalEmulator, http: httpx.Client, token: str
) -> None:
    portal.rate, portal.burst = 0.001, 3
    commands = {f"c{i}": "app.info" for i in range(20)}
    result = ok(rest(http, "batch", token, cmd=commands, halt=0))
    assert len(result["result"]) == 20
    assert ok(rest(http, "app.info", token))
    assert ok(rest(http, "app.info", token))
    error(rest(http, "app.info", token), 503, "QUERY_LIMIT_EXCEEDED", "Too many requests")
    assert portal.limit_exceeded_count == 1


def test_fail_hang_and_latency_switches(
    portal: PortalEmulator, http: httpx.Client, token: str
) -> None:
    portal.fail_next(2)
    for _ in range(2):
        error(rest(http, "app.info", token), 500, "INTERNAL_SERVER_ERROR")
    portal.fail_next(1, status=503, error="OVERLOAD_LIMIT")
    error(
        rest(http, "app.info", token), 503, "OVERLOAD_LIMIT", "REST API is blocked due to overload"
    )
    assert ok(rest(http, "app.info", token))
    portal.hang_next(1, 0.6)
    with pytest.raises(httpx.ReadTimeout):
        http.post("/rest/app.info", json={"auth": token}, timeout=0.2)
    portal.latency = 0.2
    began = time.monotonic()
    assert ok(rest(http, "app.info", token))
    assert time.monotonic() - began >= 0.2


# --- batch ----------------------------------------------------------------------------------------


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


def test_batch_answers_like_the_recorded_mixed_batch(
    portal: PortalEmulator, http: httpx.Client, token: str, recorded: Path
) -> None:
    lead = [portal.add_lead("Поклонная ул., 6") for _ in range(3)][-1]  # keys 0, 1 stay free
    commands = {
        str(lead): f"crm.lead.get?ID={lead}",
        "0": "crm.lead.get?ID=0",
        "1": "crm.lead.get?ID=999",
    }
    response = rest(http, "batch", token, cmd=commands, halt=0)
    body = response.json()
    expected = recorded_response(
        recorded, "fast_bitrix24_crm_get_batch_mix_success_and_errors.json"
    )
    assert set(body) == set(expected) == {"result", "time"}
    result, want = body["result"], expected["result"]
    assert list(result) == list(want)
    assert result["result_error"] == want["result_error"]  # keys 0, 1 → a JSON list
    assert list(result["result"]) == list(result["result_time"]) == [str(lead)]
    assert result["result"][str(lead)]["TITLE"] == "Поклонная ул., 6"
    assert result["result_total"] == want["result_total"] == []
    assert result["result_next"] == want["result_next"] == []
    assert set(result["result_time"][str(lead)]) == TIME_KEYS


def test_batch_of_errors_and_of_lists_match_their_recordings(
    portal: PortalEmulator, http: httpx.Client, token: str, recorded: Path
) -> None:
    only_errors = ["crm.lead.get?ID=0", "crm.lead.get?ID=999"]
    result = ok(rest(http, "batch", token, cmd=only_errors))
    expected = recorded_response(recorded, "fast_bitrix24_crm_get_batch_of_two_error.json")
    assert result == expected["result"]

    result = ok(rest(http, "batch", token, cmd={"order0000000000": "crm.contact.list"}))
    expected = recorded_response(recorded, "fast_bitrix24_batch_list_empty.json")["result"]
    assert shape({k: v for k, v in result.items() if k != "result_time"}) == shape(
        {k: v for k, v in expected.items() if k != "result_time"}
    )
    assert result["result_total"] == {"order0000000000": 0}

    add = {"order0000000000": "crm.contact.add?fields[NAME]=Ivan&fields[PHONE][0][VALUE]=%2B7925"}
    result = ok(rest(http, "batch", token, cmd=add))
    expected = recorded_response(recorded, "fast_bitrix24_crm_contact_add_batch.json")["result"]
    assert shape(result) == shape(expected)  # the ID is an integer, time keys as in 2024


def test_batch_names_errors_by_key_and_halts(
    portal: PortalEmulator, http: httpx.Client, token: str
) -> None:
    commands = {"a": "app.info", "bad": "crm.contact.get?id=5", "c": "messageservice.sender.list"}
    result = ok(rest(http, "batch", token, cmd=commands, halt=1))
    assert list(result["result"]) == ["a"]
    assert result["result_error"] == {"bad": {"error": "", "error_description": "Not found"}}
    result = ok(rest(http, "batch", token, cmd=commands, halt=0))
    assert list(result["result"]) == ["a", "c"]
    result = ok(rest(http, "batch", token, cmd={"x": "no.such"}))
    assert result["result_error"]["x"]["error"] == "ERROR_METHOD_NOT_FOUND"


def test_batch_limits(portal: PortalEmulator, http: httpx.Client, token: str) -> None:
    too_many = [f"app.info?n={i}" for i in range(51)]
    error(rest(http, "batch", token, cmd=too_many), 400, "ERROR_BATCH_LENGTH_EXCEEDED")
    assert ok(rest(http, "batch", token, cmd=too_many[:50]))
    nested = {"a": "app.info", "b": "batch?cmd[x]=app.info"}
    error(rest(http, "batch", token, cmd=nested), 405, "ERROR_BATCH_METHOD_NOT_ALLOWED")


# --- messageservice -------------------------------------------------------------------------------


def sender(http: httpx.Client, method: str, token: str, **params: Any) -> httpx.Response:
    return rest(http, f"messageservice.sender.{method}", token, **params)


def test_sender_lifecycle(portal: PortalEmulator, http: httpx.Client, token: str) -> None:
    provider = {"CODE": "smsru", "TYPE": "SMS", "HANDLER": "https://a.example.com/h", "NAME": "A"}
    assert ok(sender(http, "add", token, **provider)) is True
    error(
        sender(http, "add", token, **provider),
        400,
        "ERROR_SENDER_ALREADY_INSTALLED",
        "Sender already installed!",
    )
    assert ok(sender(http, "update", token, CODE="smsru", HANDLER="https://b.example.com/h"))
    assert portal.providers["smsru"]["handler"] == "https://b.example.com/h"
    error(sender(http, "update", token, CODE="smsru"), 400, "ERROR_SENDER_OTHER_PARAMS_REQUIRED")
    error(sender(http, "update", token, CODE="other", NAME="B"), 400, "ERROR_SENDER_NOT_FOUND")
    assert ok(sender(http, "add", token, **provider | {"CODE": "second"}))
    assert ok(sender(http, "list", token)) == ["smsru", "second"]
    assert ok(sender(http, "delete", token, code="second")) is True
    error(sender(http, "delete", token, CODE="second"), 400, "ERROR_SENDER_NOT_FOUND")
    assert ok(sender(http, "list", token)) == ["smsru"]
    portal.app_update()
    assert ok(sender(http, "list", token)) == []
    assert portal.providers == {}


@pytest.mark.parametrize(
    ("change", "code", "description"),
    [
        ({"CODE": "sms ru"}, "ERROR_SENDER_VALIDATION_FAILURE", "Wrong sender code!"),
        ({"CODE": ""}, "ERROR_SENDER_VALIDATION_FAILURE", "Empty sender code!"),
        ({"TYPE": "sms"}, "ERROR_SENDER_VALIDATION_FAILURE", "Unknown sender message TYPE!"),
        ({"TYPE": ""}, "ERROR_SENDER_VALIDATION_FAILURE", "Empty sender message TYPE!"),
        ({"NAME": ""}, "ERROR_SENDER_VALIDATION_FAILURE", "Empty sender NAME!"),
        ({"HANDLER": "https://intranet/h"}, "ERROR_WRONG_HANDLER_URL", "Wrong handler URL"),
        ({"HANDLER": "ftp://a.example.com/h"}, "ERROR_UNSUPPORTED_PROTOCOL", None),
    ],
)
def test_sender_add_validation(
    http: httpx.Client, token: str, change: dict[str, str], code: str, description: str | None
) -> None:
    provider = {"CODE": "smsru", "TYPE": "SMS", "HANDLER": "https://a.example.com/h", "NAME": "A"}
    error(sender(http, "add", token, **provider | change), 400, code, description)


def test_local_handlers_only_when_allowed_and_admins_only(
    portal: PortalEmulator, http: httpx.Client, token: str
) -> None:
    local = {"CODE": "smsru", "TYPE": "SMS", "HANDLER": "http://localhost:8000/h", "NAME": "A"}
    portal.allow_local_handlers = False
    error(sender(http, "add", token, **local), 400, "ERROR_WRONG_HANDLER_URL")
    loopback = local | {"HANDLER": "http://127.0.0.1:8000/h"}
    error(sender(http, "add", token, **loopback), 400, "ERROR_WRONG_HANDLER_URL")
    portal.allow_local_handlers = True
    assert ok(sender(http, "add", token, **local))
    assert ok(sender(http, "add", token, **loopback | {"CODE": "two"}))
    manager = portal.issue_tokens(user_id=7)["access_token"]
    error(sender(http, "list", manager), 403, "ACCESS_DENIED", "Access denied!")


def status_update(http: httpx.Client, token: str, message_id: str, status: str) -> httpx.Response:
    params = {"CODE": "smsru", "MESSAGE_ID": message_id, "STATUS": status}
    return rest(http, "messageservice.message.status.update", token, **params)


def test_status_updates_apply_in_arrival_order(
    portal: PortalEmulator, http: httpx.Client, token: str
) -> None:
    portal.register_message("a" * 32, code="smsru", author_id=5)
    assert portal.message_status("a" * 32) == "sent"
    assert ok(status_update(http, token, "a" * 32, "delivered")) is True
    assert ok(status_update(http, token, "a" * 32, "sent")) is True
    assert portal.message_status("a" * 32) == "sent"
    assert portal.status_history["a" * 32] == ["delivered", "sent"]
    error(
        status_update(http, token, "b" * 32, "delivered"),
        400,
        "ERROR_MESSAGE_NOT_FOUND",
        "Message not found!",
    )
    error(status_update(http, token, "a" * 32, "read"), 400, "ERROR_MESSAGE_STATUS_INCORRECT")
    wrong_code = {"CODE": "other", "MESSAGE_ID": "a" * 32, "STATUS": "failed"}
    response = rest(http, "messageservice.message.status.update", token, **wrong_code)
    error(response, 400, "ERROR_MESSAGE_NOT_FOUND")
    stranger = portal.issue_tokens(user_id=9)["access_token"]
    error(status_update(http, stranger, "a" * 32, "failed"), 403, "ACCESS_DENIED")
    author = portal.issue_access_token(5)["access_token"]
    assert ok(status_update(http, author, "a" * 32, "failed"))
    assert portal.message_status("a" * 32) == "failed"


def test_batch_chains_an_added_item_as_the_documented_example_does(
    portal: PortalEmulator, http: httpx.Client, token: str
) -> None:
    # The documentation's form: the command double-encoded in the query string.
    cmd = {
        "add": "crm.contact.add?fields%5BNAME%5D=Ivan",
        "get": "crm.contact.get?ID=%24result%5Badd%5D",
        "rename": "crm.contact.update?ID=$result[add]&fields[LAST_NAME]=$result[get][NAME]ov",
        "again": "crm.contact.get?ID=$result[add]",
    }
    query = urlencode({"auth": token, "halt": 0} | {f"cmd[{k}]": v for k, v in cmd.items()})
    result = ok(http.get(f"/rest/batch?{query}"))
    added = result["result"]["add"]
    assert result["result_error"] == []
    assert result["result"]["get"]["ID"] == str(added)
    # A reference runs to the next whitespace: the "ov" after it went with it.
    assert result["result"]["again"]["LAST_NAME"] == "Ivan"


def test_batch_reads_the_sdks_chained_list_by_last_id(
    portal: PortalEmulator, http: httpx.Client, token: str
) -> None:
    ids = [portal.add_contact(f"C{i}") for i in range(120)]
    base = "crm.contact.list?order[ID]=ASC&select[]=ID&start=-1"
    cmd = {
        "cmd_0": f"{base}&filter[>ID]=0",
        "cmd_1": f"{base}&filter[>ID]=$result[cmd_0][49][ID]",
        "cmd_2": f"{base}&filter[>ID]=$result[cmd_1][49][ID]",
    }
    result = ok(rest(http, "batch", token, cmd=cmd))["result"]
    read = [int(row["ID"]) for key in cmd for row in result[key]]
    assert read == ids


def test_batch_pages_by_next_and_total_and_start_over_past_the_last_page(
    portal: PortalEmulator, http: httpx.Client, token: str
) -> None:
    ids = [portal.add_contact(f"C{i}") for i in range(70)]
    base = "crm.contact.list?order[ID]=ASC&select[]=ID"
    cmd = {
        "p0": f"{base}&start=0",
        "p1": f"{base}&start=$next[p0]",
        "p2": f"{base}&start=$next[p1]",  # p1 is the last page: no next, the whole next map
        "count": "crm.contact.get?ID=$total[p0]",
    }
    result = ok(rest(http, "batch", token, cmd=cmd))
    pages = result["result"]
    assert [int(r["ID"]) for r in pages["p0"] + pages["p1"]] == ids
    assert [int(r["ID"]) for r in pages["p2"]] == ids[:50]  # start=[…] is 1: the first page
    assert result["result_next"] == {"p0": 50, "p2": 50}
    assert result["result_total"] == {"p0": 70, "p1": 70, "p2": 70}
    assert pages["count"]["ID"] == str(ids[69])  # total 70 is the 70th contact's ID


def test_batch_references_to_a_failed_call_are_not_refused(
    portal: PortalEmulator, http: httpx.Client, token: str
) -> None:
    cmd = {
        "bad": "crm.contact.get?ID=999",
        "note": (
            "crm.contact.add?fields[NAME]=copy of $result[bad][NAME]"
            "&fields[LAST_NAME]=$error[bad][error_description]"
            "&fields[SECOND_NAME]=took $time[bad][duration]"
        ),
        "read": "crm.contact.get?ID=$result[note]",
    }
    result = ok(rest(http, "batch", token, cmd=cmd))
    assert list(result["result_error"]) == ["bad"]
    contact = result["result"]["read"]
    assert contact["NAME"] == "copy of $result[bad][NAME]"  # nothing to write in: left as typed
    assert contact["LAST_NAME"] == "Not found"
    assert contact["SECOND_NAME"] == "took $time[bad][duration]"  # the time map is a whole map


# --- CRM ------------------------------------------------------------------------------------------


def test_list_pages_by_fifty_with_total_and_next(
    portal: PortalEmulator, http: httpx.Client, token: str
) -> None:
    ids = [portal.add_contact(f"C{i}") for i in range(120)]
    body = rest(http, "crm.contact.list", token, order={"ID": "ASC"}, select=["ID"]).json()
    assert list(body) == ["result", "next", "total", "time"]
    assert (len(body["result"]), body["next"], body["total"]) == (50, 50, 120)
    body = rest(http, "crm.contact.list", token, start=110, select=["ID"]).json()
    assert body["result"][0]["ID"] == str(ids[100])  # start is rounded down to its page
    assert (len(body["result"]), body.get("next"), body["total"]) == (20, None, 120)
    params = {"start": -1, "filter": {">ID": ids[99]}, "order": {"ID": "ASC"}, "select": ["ID"]}
    body = rest(http, "crm.contact.list", token, **params).json()
    assert [row["ID"] for row in body["result"]] == [str(i) for i in ids[100:]]
    assert "total" not in body and "next" not in body
    body = rest(http, "crm.contact.list", token, order={"ID": "DESC"}, select=["ID"]).json()
    assert body["result"][0]["ID"] == str(ids[-1])


def test_list_ranges_of_ids_and_orders_agree_with_a_scan(
    portal: PortalEmulator, http: httpx.Client, token: str
) -> None:
    ids = [portal.add_contact(f"C{i % 7}") for i in range(30)]

    def listed(**params: Any) -> list[int]:
        body = rest(http, "crm.contact.list", token, select=["ID"], **params).json()
        return [int(row["ID"]) for row in body["result"]]

    low, high = ids[5], ids[20]
    inside = {">=ID": low, "<ID": high}
    assert listed(filter=inside) == [i for i in ids if low <= i < high]
    assert listed(filter={">ID": low, "<=ID": high}) == [i for i in ids if low < i <= high]
    assert listed(filter={">ID": "x"}) == []  # not a number: compared as text, digits first
    assert listed(filter={"<ID": [low, high]}) == [i for i in ids if i < high]  # any of them
    assert listed(filter=inside, order={"ID": "DESC"}) == [
        i for i in reversed(ids) if low <= i < high
    ]
    by_name = sorted(ids, key=lambda i: (f"C{ids.index(i) % 7}", -i))
    assert listed(order={"NAME": "ASC", "ID": "DESC"}, start=0) == by_name


def test_list_filters_exactly_and_matches_the_recorded_shape(
    portal: PortalEmulator, http: httpx.Client, token: str, recorded: Path
) -> None:
    portal.add_contact("Ivan", ["+79255070602"])
    wanted = portal.add_contact("Anna", ["+74993221627"])
    inline = json.loads(
        (recorded / "bitrix24" / "rest" / "fast_bitrix24_crm_contact_list_inline.json").read_text()
    )
    params = inline["request"]["params"] | {"filter": {"=ID": [str(wanted)]}}
    body = rest(http, "crm.contact.list", token, **params).json()
    assert shape(body) == shape(inline["response"])  # unset fields are null, as recorded
    assert body["result"][0]["NAME"] == "Anna"
    by_phone = {"filter": {"PHONE": "+74993221627"}, "select": ["ID"]}
    assert ok(rest(http, "crm.contact.list", token, **by_phone)) == [{"ID": str(wanted)}]
    assert ok(rest(http, "crm.contact.list", token, filter={"PHONE": "74993221627"})) == []
    assert len(ok(rest(http, "crm.contact.list", token, filter={"NAME": "anna"}))) == 1


def test_phone_is_listed_only_when_selected(
    portal: PortalEmulator, http: httpx.Client, token: str
) -> None:
    contact = portal.add_contact("Ivan", [("+79255070602", "MOBILE")])
    for select in ([], ["*"], ["*", "UF_*"]):
        row = ok(rest(http, "crm.contact.list", token, select=select))[0]
        assert "PHONE" not in row and row["HAS_PHONE"] == "Y"
    row = ok(rest(http, "crm.contact.list", token, select=["ID", "PHONE"]))[0]
    assert set(row) == {"ID", "PHONE"}
    [phone] = row["PHONE"]
    assert list(phone) == ["ID", "VALUE_TYPE", "VALUE", "TYPE_ID"]
    assert phone["VALUE"] == "+79255070602" and phone["TYPE_ID"] == "PHONE"
    assert isinstance(phone["ID"], str)
    assert ok(rest(http, "crm.contact.get", token, id=contact))["PHONE"] == row["PHONE"]


def test_phone_update_semantics(portal: PortalEmulator, http: httpx.Client, token: str) -> None:
    contact = portal.add_contact("Ivan", ["+71111111111", "+72222222222", "+73333333333", "+74444"])
    one, two, three, four = (p["ID"] for p in portal.entity("contact", contact)["PHONE"])
    phones = [
        {"ID": one, "VALUE": "+79999999999", "VALUE_TYPE": "MOBILE"},  # update in place
        {"ID": two},  # no VALUE: deleted
        {"ID": three, "DELETE": "Y", "VALUE": "+73333333333"},
        {"VALUE": "+75555555555"},  # no ID: added
        {"ID": "999999", "VALUE": "+70000000000"},  # not this contact's value: ignored
    ]
    assert ok(rest(http, "crm.contact.update", token, id=contact, fields={"PHONE": phones}))
    after = portal.entity("contact", contact)["PHONE"]
    assert [(p["ID"], p["VALUE"], p["VALUE_TYPE"]) for p in after] == [
        (one, "+79999999999", "MOBILE"),
        (four, "+74444", "WORK"),
        (after[2]["ID"], "+75555555555", "WORK"),
    ]
    form = urlencode(
        {
            "auth": token,
            "id": contact,
            "fields[PHONE][0][ID]": four,
            "fields[PHONE][0][VALUE]": "",
            "fields[NAME]": "Иван",
        }
    )
    response = http.post(
        "/rest/crm.contact.update", content=form, headers={"Content-Type": FORM_CONTENT_TYPE}
    )
    assert ok(response) is True
    entity = portal.entity("contact", contact)
    assert [p["VALUE"] for p in entity["PHONE"]] == ["+79999999999", "+75555555555"]
    assert entity["NAME"] == "Иван"


def test_get_add_update_errors(portal: PortalEmulator, http: httpx.Client, token: str) -> None:
    error(rest(http, "crm.deal.get", token, id=0), 400, "", "ID is not defined or invalid.")
    error(rest(http, "crm.deal.get", token, id=5), 400, "", "Not found")
    error(rest(http, "crm.deal.add", token), 400, "", "The parameter 'fields' must be array.")
    deal = ok(
        rest(http, "crm.deal.add", token, fields={"TITLE": "Order 1", "PHONE": [{"VALUE": "1"}]})
    )
    assert isinstance(deal, int)
    assert "PHONE" not in portal.entity("deal", deal)  # deals have no phones: ignored
    error(rest(http, "crm.deal.update", token, id=deal + 1, fields={}), 400, "", "Not found.")
    assert ok(rest(http, "crm.deal.update", token, id=deal, fields={"TITLE": "Order 2"}))
    assert ok(rest(http, "crm.deal.get", token, id=deal))["TITLE"] == "Order 2"
    lead = ok(rest(http, "crm.lead.add", token, fields={"TITLE": "L", "PHONE": [{"VALUE": "+7"}]}))
    assert portal.entity("lead", lead)["HAS_PHONE"] == "Y"


def test_userfields(portal: PortalEmulator, http: httpx.Client, token: str) -> None:
    fields = {"FIELD_NAME": "sms_sent", "USER_TYPE_ID": "boolean"}
    field_id = ok(rest(http, "crm.contact.userfield.add", token, fields=fields))
    assert isinstance(field_id, int)
    [definition] = ok(rest(http, "crm.contact.userfield.list", token))
    assert definition["FIELD_NAME"] == "UF_CRM_SMS_SENT"
    assert definition["ENTITY_ID"] == "CRM_CONTACT"
    error(rest(http, "crm.contact.userfield.add", token, fields=fields), 400, "ERROR_CORE")
    assert ok(rest(http, "crm.deal.userfield.add", token, fields=fields))  # per entity type
    long = fields | {"FIELD_NAME": "X" * 44}
    error(rest(http, "crm.contact.userfield.add", token, fields=long), 400, "ERROR_CORE")
    assert ok(
        rest(http, "crm.contact.userfield.add", token, fields=long | {"FIELD_NAME": "X" * 43})
    )
    bad = fields | {"FIELD_NAME": "смс"}
    error(rest(http, "crm.contact.userfield.add", token, fields=bad), 400, "ERROR_CORE")

    contact = portal.add_contact("Ivan")
    update = {"id": contact, "fields": {"UF_CRM_SMS_SENT": "Y"}}
    assert ok(rest(http, "crm.contact.update", token, **update))
    row = ok(rest(http, "crm.contact.list", token, select=["UF_*"]))[0]
    assert row["UF_CRM_SMS_SENT"] == "Y" and "NAME" not in row


# --- the queue server -----------------------------------------------------------------------------


def test_install_posts_the_documented_event(
    portal: PortalEmulator,
    http: httpx.Client,
    receiver: tuple[Receiver, str],
    recorded: Path,
) -> None:
    target, url = receiver
    response = portal.install(f"{url}/bitrix24/install")
    assert response.status_code == 200
    [(content_type, body)] = target.posts
    assert content_type == FORM_CONTENT_TYPE
    documented = json.loads(
        (recorded / "bitrix24" / "docs" / "docs_onappinstall.json").read_text()
    )["form_fields"]
    fields = dict(httpx.QueryParams(body.decode()))
    assert set(documented) | {"auth[expires]", "auth[user_id]"} == set(fields)
    form = parse_php_form(body)
    assert form["event"] == "ONAPPINSTALL"
    assert form["data"] == {"VERSION": "1", "ACTIVE": "Y", "INSTALLED": "Y", "LANGUAGE_ID": "ru"}
    auth = form["auth"]
    assert auth["member_id"] == portal.member_id
    assert auth["application_token"] == APPLICATION_TOKEN
    assert auth["domain"] == "sandbox.bitrix24.ru"
    assert auth["client_endpoint"] == f"{portal.base_url}/rest/"
    assert ok(rest(http, "app.info", auth["access_token"]))
    assert refresh(http, portal, auth["refresh_token"]).status_code == 200


def test_send_message_posts_the_handler_fields_once(
    portal: PortalEmulator,
    http: httpx.Client,
    token: str,
    receiver: tuple[Receiver, str],
) -> None:
    target, url = receiver
    provider = {"CODE": "smsru", "TYPE": "SMS", "HANDLER": f"{url}/handler?key=s", "NAME": "A"}
    assert ok(sender(http, "add", token, **provider))
    target.status = 503  # ignored by the portal, but recorded
    message_id = portal.send_message("crm", "8 (925) 507-06-02", "Привет", entity=("contact", 7))
    assert portal.message_status(message_id) == "sent"
    assert portal.handler_deliveries == [(message_id, 503)]
    [(content_type, body)] = target.posts
    assert content_type == FORM_CONTENT_TYPE
    form = parse_php_form(body)
    assert form["module_id"] == "crm"
    assert form["bindings"] == {"0": {"OWNER_TYPE_ID": "3", "OWNER_ID": "7"}}
    assert form["message_id"] == message_id and form["code"] == "smsru"
    assert form["message_to"] == "+89255070602"  # '+' . NormalizePhone(): digits only
    assert form["message_body"] == "Привет"
    auth = form["auth"]
    assert "refresh_token" not in auth
    assert auth["user_id"] == "1" and auth["application_token"] == APPLICATION_TOKEN
    assert auth["client_endpoint"] == f"{portal.base_url}/rest/"
    assert ok(status_update(http, auth["access_token"], message_id, "delivered"))

    target.status = 200
    robot = portal.send_message(
        "bizproc", "+79255070602", "x", entity=("lead", 98), author_user_id=None
    )
    form = parse_php_form(target.posts[-1][1])
    assert "auth" not in form
    assert form["document_id"] == {"0": "crm", "1": "CCrmDocumentLead", "2": "LEAD_98"}
    assert portal.handler_deliveries[-1] == (robot, 200)
    with pytest.raises(LookupError):
        portal.send_message("crm", "+79255070602", "x", code="other")


def test_fields_describe_standard_multi_and_user_fields_as_recorded(
    portal: PortalEmulator, http: httpx.Client, token: str, recorded: Path
) -> None:
    recorded_fields = recorded_response(recorded, "fast_bitrix24_crm_lead_fields_success.json")
    field = {"FIELD_NAME": "PAYMENT_LINK", "USER_TYPE_ID": "string"}
    assert ok(rest(http, "crm.lead.userfield.add", token, fields=field))

    fields = ok(rest(http, "crm.lead.fields", token))

    for name in ("ID", "TITLE", "OPPORTUNITY", "PHONE", "DATE_CREATE"):
        assert fields[name] == recorded_fields["result"][name] | {"title": name}, name
    [recorded_uf] = [v for k, v in recorded_fields["result"].items() if k == "UF_CRM_1594289616952"]
    mine = fields["UF_CRM_PAYMENT_LINK"]
    assert set(mine) == set(recorded_uf) - {"settings"}
    assert (mine["type"], mine["isDynamic"], mine["title"]) == (
        "string",
        True,
        "UF_CRM_PAYMENT_LINK",
    )
    assert set(ok(rest(http, "crm.deal.fields", token))) >= {"TITLE", "OPPORTUNITY", "CONTACT_ID"}
