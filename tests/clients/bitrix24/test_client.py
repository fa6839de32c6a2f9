"""Bitrix24Client against httpx.MockTransport: requests, retries, refreshes, recorded replies."""

from __future__ import annotations

import asyncio
import json
import pickle
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from support import RECORDED as RECORDINGS_ROOT

from clients.bitrix24.client import NOT_RUN, BatchResult, Bitrix24Client
from clients.bitrix24.errors import (
    AuthError,
    Bitrix24Error,
    Bitrix24Unavailable,
    OAuthError,
    QueryLimitExceeded,
    TokenExpired,
)
from clients.bitrix24.tokens import TokenPair, refresh_tokens

RECORDED = RECORDINGS_ROOT / "bitrix24"
ENDPOINT = "https://example.bitrix24.ru/rest/"


def pair(n: int) -> TokenPair:
    return TokenPair(
        access_token=f"access-token-{n}-0123456789abcdef",
        refresh_token=f"refresh-token-{n}-0123456789abcdef",
        expires_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=n),
        client_endpoint=ENDPOINT,
        member_id="a223c6b3710f85df22e9377d6c4f7553",
    )


class FakeTokens:
    """Hands out pair(0), then pair(1), pair(2)… one per refresh."""

    def __init__(self, refusal: OAuthError | None = None) -> None:
        self.index = 0
        self.stale: list[TokenPair] = []
        self.refusal = refusal

    async def current(self) -> TokenPair:
        return pair(self.index)

    async def refreshed(self, stale: TokenPair) -> TokenPair:
        self.stale.append(stale)
        if self.refusal:
            raise self.refusal
        self.index += 1
        return pair(self.index)


class FakeLimiter:
    def __init__(self) -> None:
        self.acquired = 0
        self.penalties: list[float] = []

    async def acquire(self) -> None:
        self.acquired += 1

    async def penalize(self, seconds: float) -> None:
        self.penalties.append(seconds)


Reply = tuple[int, Any] | type[httpx.TransportError]  # (status, JSON body or raw bytes) or error


class Server:
    """Answers requests with `replies` in turn (the last one again once they run out)."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, type):
            raise reply(f"boom for {request.url}", request=request)
        status, body = reply
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return httpx.Response(status, content=content, headers={"Content-Type": "application/json"})

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(request.content) for request in self.requests]


class Run:
    """One client over a `Server`, with fake tokens, limiter and sleep to look at afterwards."""

    def __init__(self, server: Server, tokens: FakeTokens | None = None, **options: Any) -> None:
        self.server = server
        self.tokens = tokens or FakeTokens()
        self.limiter = FakeLimiter()
        self.sleeps: list[float] = []
        self.options = options

    async def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def __call__(self, call: Callable[[Bitrix24Client], Awaitable[Any]]) -> Any:
        async def main() -> Any:
            async with httpx.AsyncClient(transport=httpx.MockTransport(self.server)) as http:
                client = Bitrix24Client(
                    self.tokens, self.limiter, http, sleep=self._sleep, **self.options
                )
                return await call(client)

        return asyncio.run(main())


OK = (200, {"result": True, "time": {"start": 1.0}})


def load(name: str) -> dict[str, Any]:
    path = RECORDED / name
    assert path.is_file(), f"recorded Bitrix24 payload missing at {path}"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


# --- Replaying every recorded REST reply ------------------------------------------------------


def recorded_rest_files() -> list[str]:
    folder = RECORDED / "rest"
    assert folder.is_dir(), f"recorded Bitrix24 REST replies missing at {folder}"
    names = sorted(path.name for path in folder.glob("*.json"))
    assert len(names) >= 18, f"expected the recorded Bitrix24 REST replies in {folder}"
    return names


def is_batch(body: dict[str, Any]) -> bool:
    result = body.get("result")
    return isinstance(result, dict) and "result_error" in result and "result_time" in result


def command_keys(body: dict[str, Any]) -> list[str]:
    """The keys the batch was sent with; a JSON list stands for keys 0..n-1."""
    keys: list[str] = []
    for name in ("result", "result_error", "result_time"):
        value = body["result"][name]
        for key in value if isinstance(value, dict) else map(str, range(len(value))):
            if key not in keys:
                keys.append(key)
    return keys


def replay_batch(body: dict[str, Any]) -> tuple[BatchResult, dict[str, Any]]:
    server = Server((200, body))
    calls = {key: ("crm.lead.get", {"ID": key}) for key in command_keys(body)}
    result = Run(server)(lambda c: c.batch(calls))
    (sent,) = server.bodies()
    assert sent["cmd"] == {key: f"crm.lead.get?ID={key}" for key in calls}
    assert set(result.results) | set(result.errors) == set(calls)
    assert not set(result.results) & set(result.errors)
    return result, sent


def replay_call(body: dict[str, Any], method: str = "crm.lead.list") -> dict[str, Any]:
    reply: dict[str, Any] = Run(Server((200, body)))(lambda c: c.call_full(method))
    return reply


def test_recorded_folder_is_found() -> None:
    assert RECORDED.parent.name == "recorded"
    assert "fast_bitrix24_crm_get_batch_mix_success_and_errors.json" in recorded_rest_files()


@pytest.mark.parametrize("name", recorded_rest_files())
def test_every_recorded_rest_reply_parses(name: str) -> None:
    data = load(f"rest/{name}")
    if name == "oauth_token_responses_observed.json":
        for item in data["items"]:
            assert (
                parse_token_reply(item["body_json"]).access_token
                == item["body_json"]["access_token"]
            )
    elif name == "error_query_limit_exceeded_observed.json":
        server = Server((data["documented_http_status"], data["body_text"].encode()))
        run = Run(server, max_attempts=3)
        with pytest.raises(QueryLimitExceeded) as caught:
            run(lambda c: c.call("crm.contact.list"))
        assert str(caught.value) == "QUERY_LIMIT_EXCEEDED: Too many requests"
        assert len(server.requests) == 3 and run.limiter.penalties == [1.0, 2.0]
    else:
        bodies = (
            [data["response"]]
            if "response" in data
            else [item["body_json"] for item in data["responses"]]
        )
        for body in bodies:
            if is_batch(body):
                replay_batch(body)
            else:
                assert replay_call(body) == body


def parse_token_reply(body: dict[str, Any]) -> TokenPair:
    async def main() -> TokenPair:
        transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
        async with httpx.AsyncClient(transport=transport) as http:
            return await refresh_tokens(http, "https://oauth.bitrix.info", "id", "secret", "r")

    return asyncio.run(main())


def test_batch_with_errors_listed_without_keys() -> None:
    # fast_bitrix24 sent crm.lead.get for IDs 0, 1 and 35943 keyed by the IDs: the errors of
    # commands "0" and "1" came back as a JSON list, which is how PHP encodes keys 0..n-1.
    body = load("rest/fast_bitrix24_crm_get_batch_mix_success_and_errors.json")["response"]
    result, sent = replay_batch(body)
    assert sent["halt"] == 0
    assert result.results == {"35943": {"ID": "35943"}}
    assert {key: (e.code, e.description) for key, e in result.errors.items()} == {
        "0": ("", "ID is not defined or invalid."),
        "1": ("", "Not found"),
    }
    assert all(type(e) is Bitrix24Error and e.status is None for e in result.errors.values())
    assert str(result.errors["1"]) == ": Not found"
    assert (result.totals, result.nexts) == ({}, {})


def test_batch_failure_of_each_sub_call() -> None:
    # The recorded mixed answer, asked with one more key it says nothing about.
    body = load("rest/fast_bitrix24_crm_get_batch_mix_success_and_errors.json")["response"]
    server = Server((200, body))
    calls = {key: ("crm.lead.get", {"ID": key}) for key in ("0", "1", "35943", "99")}
    result = Run(server)(lambda c: c.batch(calls))
    assert result.failure("35943") is None
    assert str(result.failure("1")) == ": Not found"
    assert result.failure("0") is result.errors["0"]
    not_run = result.failure("99")
    assert isinstance(not_run, Bitrix24Error)
    assert (not_run.code, not_run.status) == (NOT_RUN, None)
    assert str(not_run) == "NOT_RUN: the batch answer has no result for it"


def test_halted_batch_failures() -> None:
    # halt=1: Bitrix24 stops at the first failing command; the ones after it are in no list.
    failing = {"error": "ERROR_CORE", "error_description": "Message not found"}
    body = {
        "result": {
            "result": {"a": True},
            "result_error": {"b": failing},
            "result_total": [],
            "result_next": [],
            "result_time": {"a": {}, "b": {}},
        },
        "time": {"start": 1.0},
    }
    calls = {key: ("crm.lead.update", {"id": 1}) for key in "abc"}
    result = Run(Server((200, body)))(lambda c: c.batch(calls, halt=True))
    first, second, third = (result.failure(key) for key in "abc")
    assert first is None
    assert second is not None and second.code == "ERROR_CORE"
    assert third is not None and third.code == NOT_RUN


@pytest.mark.parametrize(
    ("name", "errors"),
    [
        ("fast_bitrix24_crm_get_batch_of_two_error.json", 2),
        ("fast_bitrix24_crm_lead_get_batch_error.json", 1),
    ],
)
def test_batch_of_errors_only(name: str, errors: int) -> None:
    result, _ = replay_batch(load(f"rest/{name}")["response"])
    assert result.results == {}
    assert list(result.errors) == [str(i) for i in range(errors)]
    assert result.errors["0"].description == "ID is not defined or invalid."


def test_batch_refused_for_operation_time() -> None:
    for item in load("rest/batch_operation_time_limit_b24phpsdk.json")["responses"]:
        result, _ = replay_batch(item["body_json"])
        ((key, error),) = result.errors.items()
        assert key in item["body_json"]["result"]["result_error"]
        assert (error.code, error.description) == (
            "OPERATION_TIME_LIMIT",
            "Method is blocked due to operation time limit.",
        )
        assert result.results == {}


def test_batch_totals_and_list_results() -> None:
    body = load("rest/fast_bitrix24_batch_list_empty.json")["response"]
    result, _ = replay_batch(body)
    assert result == BatchResult({"order0000000000": []}, {}, {"order0000000000": 0}, {})

    body = load("rest/fast_bitrix24_call_batch.json")["response"]
    result, _ = replay_batch(body)
    assert list(result.results) == ["statuses", "sources"]
    assert result.results["statuses"][0] == {"NAME": "Новый лид", "SORT": 10, "STATUS_ID": "NEW"}


def test_batch_results_keyed_by_numbers_and_scalars() -> None:
    body = load("rest/fast_bitrix24_crm_company_contact_items_get.json")["response"]
    result, _ = replay_batch(body)
    assert list(result.results) == ["205364"]
    assert result.results["205364"][0]["CONTACT_ID"] == 350354

    body = load("rest/fast_bitrix24_lists_element_add_batch.json")["response"]
    result, _ = replay_batch(body)
    assert result.results == {"order0000000000": 53, "order0000000001": 55}


def test_documented_replies() -> None:
    for item in load("docs/docs_rest_responses.json")["items"]:
        body = item["body_json"]
        if item["method"] == "batch":
            result, _ = replay_batch(body)
            assert list(result.results) == ["get_user", "get_department"]
            assert result.totals == {"get_department": 1}
        else:
            assert replay_call(body, item["method"]) == body


def test_recorded_list_request_and_reply() -> None:
    data = load("rest/fast_bitrix24_crm_contact_list_inline.json")
    method, params = data["request"]["method"], data["request"]["params"]
    server = Server((200, data["response"]))
    run = Run(server)
    assert run(lambda c: c.call(method, params)) == data["response"]["result"]
    (request,) = server.requests
    assert request.method == "POST"
    assert str(request.url) == ENDPOINT + "crm.contact.list"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {**params, "auth": pair(0).access_token}
    assert run.limiter.acquired == 1


# --- Requests ---------------------------------------------------------------------------------


def test_call_request_shape_and_result() -> None:
    server = Server(OK)
    params = {"CODE": "smsru", "MESSAGE_ID": "8b94" * 8, "STATUS": "delivered"}
    run = Run(server)
    assert run(lambda c: c.call("messageservice.message.status.update", params)) is True
    (request,) = server.requests
    assert str(request.url) == ENDPOINT + "messageservice.message.status.update"
    assert pair(0).access_token not in str(request.url)
    assert server.bodies() == [{**params, "auth": pair(0).access_token}]
    assert (run.limiter.acquired, run.limiter.penalties, run.sleeps) == (1, [], [])


def test_endpoint_without_trailing_slash() -> None:
    class Slashless(FakeTokens):
        async def current(self) -> TokenPair:
            return TokenPair("a", "r", datetime.now(UTC), "https://p.bitrix24.ru/rest")

    server = Server(OK)
    Run(server, Slashless())(lambda c: c.call("profile"))
    assert str(server.requests[0].url) == "https://p.bitrix24.ru/rest/profile"


def test_batch_request_shape() -> None:
    body = load("rest/fast_bitrix24_call_several_success.json")["response"]
    server = Server((200, body))
    calls = {
        f"order{i}": ("crm.lead.get", {"ID": lead, "select": ["ID", "TITLE"]})
        for i, lead in enumerate((35943, 161, 171))
    }
    result = Run(server)(lambda c: c.batch(calls, halt=True))
    assert str(server.requests[0].url) == ENDPOINT + "batch"
    assert server.bodies() == [
        {
            "halt": 1,
            "cmd": {
                "order0": "crm.lead.get?ID=35943&select%5B0%5D=ID&select%5B1%5D=TITLE",
                "order1": "crm.lead.get?ID=161&select%5B0%5D=ID&select%5B1%5D=TITLE",
                "order2": "crm.lead.get?ID=171&select%5B0%5D=ID&select%5B1%5D=TITLE",
            },
            "auth": pair(0).access_token,
        }
    ]
    assert [r["ID"] for r in result.results.values()] == ["35943", "161", "171"]
    assert result.errors == {}


def test_batch_limits() -> None:
    server = Server(OK)
    run = Run(server)
    calls = {str(i): ("crm.contact.get", {"id": i}) for i in range(51)}
    with pytest.raises(ValueError, match="50"):
        run(lambda c: c.batch(calls))
    assert run(lambda c: c.batch({})) == BatchResult({}, {}, {}, {})
    assert server.requests == []


def test_batch_whole_request_refused() -> None:
    body = {
        "error": "ERROR_BATCH_LENGTH_EXCEEDED",
        "error_description": "Max batch length exceeded",
    }
    server = Server((400, body))
    with pytest.raises(Bitrix24Error) as caught:
        Run(server)(lambda c: c.batch({"a": ("crm.contact.get", {"id": 1})}))
    assert (caught.value.code, caught.value.status) == ("ERROR_BATCH_LENGTH_EXCEEDED", 400)
    assert len(server.requests) == 1


# --- Tokens -----------------------------------------------------------------------------------

EXPIRED = (
    401,
    {"error": "expired_token", "error_description": "The access token provided has expired"},
)


def test_expired_token_is_refreshed_and_the_call_repeated() -> None:
    server = Server(EXPIRED, OK)
    run = Run(server)
    assert run(lambda c: c.call("profile")) is True
    assert run.tokens.stale == [pair(0)]
    assert [body["auth"] for body in server.bodies()] == [
        pair(0).access_token,
        pair(1).access_token,
    ]
    assert (run.limiter.acquired, run.limiter.penalties, run.sleeps) == (2, [], [])


def test_expired_again_after_two_refreshes_gives_up() -> None:
    server = Server(EXPIRED)
    run = Run(server)
    with pytest.raises(TokenExpired) as caught:
        run(lambda c: c.call("profile"))
    assert caught.value.status == 401
    assert run.tokens.stale == [pair(0), pair(1)]
    assert len(server.requests) == 3 and run.limiter.acquired == 3


def test_refreshes_count_in_a_row_only() -> None:
    server = Server(EXPIRED, EXPIRED, (500, b"oops"), EXPIRED, OK)
    run = Run(server)
    assert run(lambda c: c.call("profile")) is True
    assert run.tokens.stale == [pair(0), pair(1), pair(2)]


def test_refusal_to_refresh_reaches_the_caller_unchanged() -> None:
    refusal = OAuthError("invalid_grant", "Invalid grant")
    run = Run(Server(EXPIRED), FakeTokens(refusal))
    with pytest.raises(OAuthError) as caught:
        run(lambda c: c.call("profile"))
    assert caught.value is refusal
    assert caught.value.revoked


# --- Retries ----------------------------------------------------------------------------------

QUERY_LIMIT = (503, {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"})
INTERNAL = (500, {"error": "INTERNAL_SERVER_ERROR", "error_description": "Internal server error"})


def test_query_limit_penalizes_the_limiter_then_retries() -> None:
    server = Server(QUERY_LIMIT, QUERY_LIMIT, OK)
    run = Run(server)
    assert run(lambda c: c.call("profile")) is True
    assert run.limiter.penalties == [1.0, 2.0]
    assert run.sleeps == []  # the limiter's next acquire() does the waiting
    assert run.limiter.acquired == 3


def test_query_limit_gives_up_after_max_attempts() -> None:
    server = Server(QUERY_LIMIT)
    run = Run(server)
    with pytest.raises(QueryLimitExceeded):
        run(lambda c: c.call("profile"))
    assert len(server.requests) == 6
    assert run.limiter.penalties == [1.0, 2.0, 4.0, 8.0, 16.0]


def test_server_errors_back_off_then_give_up() -> None:
    server = Server(INTERNAL)
    run = Run(server, max_attempts=4, backoff=10.0, backoff_cap=25.0)
    with pytest.raises(Bitrix24Error) as caught:
        run(lambda c: c.call("profile"))
    assert (caught.value.code, caught.value.status) == ("INTERNAL_SERVER_ERROR", 500)
    assert len(server.requests) == 4
    assert run.sleeps == [10.0, 20.0, 25.0]
    assert run.limiter.penalties == []


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_gateway_errors_without_a_body_are_retried(status: int) -> None:
    server = Server((status, b"<html>Bad Gateway</html>"), OK)
    run = Run(server)
    assert run(lambda c: c.call("profile")) is True
    assert run.sleeps == [1.0]

    server = Server((status, b"<html>Bad Gateway</html>"))
    with pytest.raises(Bitrix24Unavailable) as caught:
        Run(server, max_attempts=2)(lambda c: c.call("profile"))
    assert (caught.value.status, caught.value.maybe_processed) == (status, False)


@pytest.mark.parametrize(
    ("exc_type", "maybe_processed"),
    [(httpx.ConnectError, False), (httpx.ReadTimeout, True), (httpx.RemoteProtocolError, True)],
)
def test_transport_failures_are_retried(
    exc_type: type[httpx.TransportError], maybe_processed: bool
) -> None:
    server = Server(exc_type, OK)
    assert Run(server)(lambda c: c.call("profile")) is True
    assert len(server.requests) == 2

    server = Server(exc_type)
    run = Run(server)
    with pytest.raises(Bitrix24Unavailable) as caught:
        run(lambda c: c.call("profile"))
    assert len(server.requests) == 6 and run.sleeps == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert caught.value.maybe_processed is maybe_processed
    assert caught.value.status is None
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert exc_type.__name__ in str(caught.value)


@pytest.mark.parametrize(
    ("status", "content", "maybe_processed"),
    [(200, b"<html>maintenance</html>", True), (200, b'{"time": {}}', True), (404, b"", True)],
)
def test_replies_without_a_result_are_not_retried(
    status: int, content: bytes, maybe_processed: bool
) -> None:
    server = Server((status, content))
    with pytest.raises(Bitrix24Unavailable) as caught:
        Run(server)(lambda c: c.call("profile"))
    assert len(server.requests) == 1
    assert (caught.value.status, caught.value.maybe_processed) == (status, maybe_processed)


def system_errors() -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = load("docs/docs_errors.json")["rest_system_errors"]
    return errors


# code -> (exception class, requests made with max_attempts=3)
EXPECTED = {
    "QUERY_LIMIT_EXCEEDED": (QueryLimitExceeded, 3),
    "expired_token": (TokenExpired, 3),  # two refreshes, then give up
    "NO_AUTH_FOUND": (AuthError, 1),
    "insufficient_scope": (AuthError, 1),
    "user_access_error": (AuthError, 1),
    "INVALID_CREDENTIALS": (AuthError, 1),
    "ACCESS_DENIED": (Bitrix24Error, 1),
    "OVERLOAD_LIMIT": (Bitrix24Error, 1),  # a block set by support: retrying will not lift it
    "INTERNAL_SERVER_ERROR": (Bitrix24Error, 3),
    "PORTAL_DELETED": (Bitrix24Error, 1),
    "ERROR_BATCH_METHOD_NOT_ALLOWED": (Bitrix24Error, 1),
    "ERROR_BATCH_LENGTH_EXCEEDED": (Bitrix24Error, 1),
}


@pytest.mark.parametrize("error", system_errors(), ids=lambda e: e["error"])
def test_documented_system_errors(error: dict[str, Any]) -> None:
    body = {"error": error["error"], "error_description": error["error_description"]}
    server = Server((error["http_status"], body))
    with pytest.raises(Bitrix24Error) as caught:
        Run(server, max_attempts=3)(lambda c: c.call("profile"))
    kind, requests = EXPECTED[error["error"]]
    assert type(caught.value) is kind
    assert len(server.requests) == requests
    assert (caught.value.code, caught.value.description, caught.value.status) == (
        error["error"],
        error["error_description"],
        error["http_status"],
    )


def test_documented_method_errors() -> None:
    docs = load("docs/docs_errors.json")
    for section, status in (
        ("messageservice_message_status_update", 400),
        ("messageservice_sender_add", 400),
        ("crm_contact_list", 400),
    ):
        body = docs[section]["example_error_body"]
        server = Server((status, body))
        with pytest.raises(Bitrix24Error) as caught:
            Run(server)(lambda c: c.call("profile"))
        assert type(caught.value) is Bitrix24Error
        assert (caught.value.code, caught.value.description) == (
            body["error"],
            body["error_description"],
        )
        assert len(server.requests) == 1


def test_invalid_token_is_refreshed_like_an_expired_one() -> None:
    # A revoked app is only told apart by the refresh then failing with invalid_grant.
    server = Server((401, {"error": "invalid_token", "error_description": "invalid"}), OK)
    run = Run(server)
    assert run(lambda c: c.call("profile")) is True
    assert run.tokens.stale == [pair(0)]


def test_unknown_401_is_an_auth_error() -> None:
    server = Server((401, {"error": "", "error_description": "who are you"}))
    with pytest.raises(AuthError):
        Run(server)(lambda c: c.call("profile"))


# --- Secrets ----------------------------------------------------------------------------------


def test_tokens_never_reach_error_texts() -> None:
    token = pair(0).access_token
    echo = (400, {"error": "WRONG", "error_description": f"bad auth {token}"})
    errors: list[Exception] = []
    for reply in (echo, httpx.ConnectError):
        server = Server(reply)
        with pytest.raises(Bitrix24Error) as caught:
            Run(server, max_attempts=1)(lambda c: c.call("profile", {"x": token}))
        errors.append(caught.value)
    for error in errors:
        for text in (str(error), repr(error), str(error.args)):
            assert token not in text
            assert pair(0).refresh_token not in text
    assert str(errors[0]) == "WRONG: bad auth ***"


def test_errors_pickle() -> None:
    for error in (
        QueryLimitExceeded("QUERY_LIMIT_EXCEEDED", "Too many requests", 503),
        Bitrix24Unavailable("Bitrix24 profile: ConnectError", False),
    ):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and str(copy) == str(error)
        assert (copy.code, copy.status) == (error.code, error.status)
    assert pickle.loads(pickle.dumps(error)).maybe_processed is False


# --- list_all ---------------------------------------------------------------------------------


def rows(first: int, count: int) -> list[dict[str, str]]:
    return [{"ID": str(i), "NAME": f"n{i}"} for i in range(first, first + count)]


def test_list_all_pages_by_id_and_stops_on_a_short_page() -> None:
    pages = (rows(1, 50), rows(51, 50), rows(101, 7))
    server = Server(*((200, {"result": page}) for page in pages))
    params = {"filter": {"TYPE_ID": "CLIENT"}, "select": ["NAME", "PHONE"]}

    async def collect(c: Bitrix24Client) -> list[dict[str, Any]]:
        return [row async for row in c.list_all("crm.contact.list", params)]

    got = Run(server)(collect)
    assert [row["ID"] for row in got] == [str(i) for i in range(1, 108)]
    assert server.bodies() == [
        {
            "filter": {"TYPE_ID": "CLIENT", ">ID": last},
            "select": ["NAME", "PHONE", "ID"],
            "order": {"ID": "ASC"},
            "start": -1,
            "auth": pair(0).access_token,
        }
        for last in (0, 50, 100)
    ]
    assert params == {"filter": {"TYPE_ID": "CLIENT"}, "select": ["NAME", "PHONE"]}


def test_list_all_resumes_and_ends_on_an_empty_page() -> None:
    server = Server((200, {"result": rows(501, 3)}), (200, {"result": []}))

    async def collect(c: Bitrix24Client) -> list[dict[str, Any]]:
        found = c.list_all("crm.lead.list", {"filter": {">ID": 500}}, page_size=3)
        return [row async for row in found]

    assert len(Run(server)(collect)) == 3
    assert [body["filter"] for body in server.bodies()] == [{">ID": 500}, {">ID": 503}]


@pytest.mark.parametrize(
    "params", [{"order": {"DATE_CREATE": "DESC"}}, {"start": 50}], ids=["order", "start"]
)
def test_list_all_refuses_its_own_parameters(params: dict[str, Any]) -> None:
    async def first(c: Bitrix24Client) -> Any:
        return await anext(c.list_all("crm.contact.list", params))

    server = Server(OK)
    with pytest.raises(ValueError):
        Run(server)(first)
    assert server.requests == []
