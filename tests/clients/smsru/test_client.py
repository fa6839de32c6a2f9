"""SmsRuClient against httpx.MockTransport: the requests it sends, and the real recorded replies."""

from __future__ import annotations

import asyncio
import json
import traceback
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from support import RECORDED as RECORDINGS_ROOT

from clients.smsru.client import SmsRuClient
from clients.smsru.codes import Outcome
from clients.smsru.errors import SmsRuApiError, SmsRuError, SmsRuUnavailable

RECORDED = RECORDINGS_ROOT / "smsru"
API_ID = "A1B2C3D4-0000-1111-2222-333344445555"
OK = '{"status": "OK", "status_code": 100}'

Handler = Callable[[httpx.Request], httpx.Response]


def run(handler: Handler, call: Callable[[SmsRuClient], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        transport = httpx.MockTransport(handler)
        async with (
            httpx.AsyncClient(transport=transport) as http,
            SmsRuClient(API_ID, http=http) as c,
        ):
            return await call(c)

    return asyncio.run(main())


def reply(body: str, status: int = 200, seen: list[httpx.Request] | None = None) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return httpx.Response(
            status, content=body.encode(), headers={"Content-Type": "application/json"}
        )

    return handler


def raising(exc_type: type[httpx.TransportError]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc_type("boom", request=request)

    return handler


def form(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode(), keep_blank_values=True))


def sent(call: Callable[[SmsRuClient], Awaitable[Any]], body: str = OK) -> httpx.Request:
    seen: list[httpx.Request] = []
    run(reply(body, seen=seen), call)
    assert len(seen) == 1
    return seen[0]


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDED / name).read_text(encoding="utf-8"))
    return data


# --- Replaying the real recordings ------------------------------------------------------------


def call_for(recorded: dict[str, Any]) -> Callable[[SmsRuClient], Awaitable[Any]]:
    """The client call that reproduces a recorded request."""
    path = httpx.URL(recorded["uri"]).path
    body: dict[str, str] = recorded["body"]
    test = body.get("test") == "1"
    if path == "/sms/send" and "to" in body:
        return lambda c: c.send(body["to"].split(","), body["msg"], test=test)
    if path == "/sms/send":
        multi = {k[len("multi[") : -1]: v for k, v in body.items() if k.startswith("multi[")}
        return lambda c: c.send_multi(multi, test=test)
    if path == "/sms/cost":
        return lambda c: c.cost(body["to"].split(","), body.get("msg") or body["text"])
    if path == "/sms/status":
        return lambda c: c.status(body["sms_id"].split(","))
    if path == "/callback/add":
        return lambda c: c.add_callback(body["url"])
    if path == "/callback/del":
        return lambda c: c.delete_callback(body["url"])
    simple = {
        "/my/balance": SmsRuClient.balance,
        "/my/limit": SmsRuClient.limit,
        "/my/free": SmsRuClient.free,
        "/my/senders": SmsRuClient.senders,
        "/auth/check": SmsRuClient.check_auth,
        "/callback/get": SmsRuClient.callbacks,
    }
    return simple[path]


def replay(name: str, index: int = 0) -> tuple[Any, httpx.Request]:
    interaction = load(name)["interactions"][index]
    response = interaction["response"]
    seen: list[httpx.Request] = []
    result = run(
        reply(response["body_text"], response["status"], seen), call_for(interaction["request"])
    )
    return result, seen[0]


def recorded_files() -> list[str]:
    assert RECORDED.is_dir(), f"recorded SMS.ru replies missing at {RECORDED}"
    names = sorted(p.name for p in RECORDED.glob("*.json") if p.name != "callbacks.json")
    assert names, f"no recorded SMS.ru replies in {RECORDED}"
    return names


def test_recorded_folder_is_found() -> None:
    assert RECORDED.parent.name == "recorded"
    assert {"deliver_single.json", "status.json", "cost.json", "limit.json"} <= set(
        recorded_files()
    )


@pytest.mark.parametrize("name", recorded_files())
def test_every_recording_replays_and_request_matches(name: str) -> None:
    for index, interaction in enumerate(load(name)["interactions"]):
        _, request = replay(name, index)
        recorded = interaction["request"]
        url = httpx.URL(recorded["uri"])
        assert request.method == recorded["method"] == "POST"
        assert request.url.path == url.path
        assert request.url.params == url.params == httpx.QueryParams({"json": "1"})
        assert request.headers["content-type"] == recorded["content_type"]
        expected = {**recorded["body"], "api_id": API_ID}
        if "text" in expected:  # legacy alias in the cost recording; the docs say `msg`
            expected["msg"] = expected.pop("text")
        assert form(request) == expected


def test_deliver_single() -> None:
    result, _ = replay("deliver_single.json")
    assert result.balance == Decimal("1000.0")
    assert list(result.numbers) == ["79255070602"]
    number = result.numbers["79255070602"]
    assert number.phone == "79255070602"
    assert number.ok is False
    assert number.status_code == 221
    assert number.sms_id == "202626-1000002"
    assert number.status_text is not None
    assert "https://sms.ru/?panel=senders" in number.status_text  # `\/` unescaped
    assert number.cost is None and number.segments is None


@pytest.mark.parametrize(
    ("name", "ids"),
    [
        ("deliver_many.json", ["202626-1000000", "202626-1000001"]),
        ("deliver_multi.json", ["202626-1000003", "202626-1000004"]),
    ],
)
def test_deliver_many_and_multi(name: str, ids: list[str]) -> None:
    result, _ = replay(name)
    assert list(result.numbers) == ["79255070602", "74993221627"]
    assert [n.sms_id for n in result.numbers.values()] == ids
    assert all(not n.ok and n.status_code == 221 for n in result.numbers.values())
    assert result.balance == Decimal("1000.0")


def test_cost_without_totals() -> None:
    result, _ = replay("cost.json")
    number = result.numbers["79255070602"]
    assert (number.ok, number.status_code, number.sms_id) == (False, 221, None)
    assert result.total_cost is None
    assert result.total_sms is None


def test_status_not_found() -> None:
    result, _ = replay("status.json")
    assert result.balance is None
    status = result.statuses["000000-10000000"]
    assert status.sms_id == "000000-10000000"
    assert status.ok is False
    assert status.status_code == -1
    assert status.status_text == "Сообщение не найдено"
    assert status.cost is None


def test_balance_limit_free_senders_auth() -> None:
    assert replay("balance.json")[0] == Decimal("1000.0")
    limit = replay("limit.json")[0]
    assert (limit.total_limit, limit.used_today) == (10, 0)  # "10" arrived as a string
    free = replay("free.json")[0]
    assert (free.total_free, free.used_today) == (5, None)
    assert replay("senders.json")[0] == []
    assert replay("authed.json")[0] is None


def test_callbacks_add_get_del() -> None:
    url = "https://example.com/sms/callback"
    assert replay("callback_add_get_del.json", 0)[0] == [url]
    assert replay("callback_add_get_del.json", 1)[0] == [url]
    assert replay("callback_add_get_del.json", 2)[0] == []  # the del reply has no list


# --- Requests ---------------------------------------------------------------------------------


def test_send_request_shape() -> None:
    request = sent(
        lambda c: c.send(
            ["79255070602", "74993221627"],
            "Привет, мир",
            sender="MyShop",
            test=True,
            ttl=60,
            translit=True,
        )
    )
    assert request.method == "POST"
    assert request.url == "https://sms.ru/sms/send?json=1"
    assert API_ID not in str(request.url)
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert form(request) == {
        "api_id": API_ID,
        "to": "79255070602,74993221627",
        "msg": "Привет, мир",
        "from": "MyShop",
        "test": "1",
        "ttl": "60",
        "translit": "1",
    }


def test_send_omits_false_flags() -> None:
    request = sent(lambda c: c.send(["79255070602"], "hi"))
    assert form(request) == {"api_id": API_ID, "to": "79255070602", "msg": "hi"}


def test_send_multi_request_shape() -> None:
    request = sent(
        lambda c: c.send_multi({"79255070602": "First", "74993221627": "Second"}, test=True)
    )
    assert request.url.path == "/sms/send"
    assert form(request) == {
        "api_id": API_ID,
        "multi[79255070602]": "First",
        "multi[74993221627]": "Second",
        "test": "1",
    }


def test_status_cost_and_simple_paths() -> None:
    request = sent(lambda c: c.status(["000000-1", "000000-2"]))
    assert (request.url.path, form(request)["sms_id"]) == ("/sms/status", "000000-1,000000-2")
    request = sent(lambda c: c.cost(["79255070602"], "How much?", sender="MyShop"))
    assert request.url.path == "/sms/cost"
    assert form(request) == {
        "api_id": API_ID,
        "to": "79255070602",
        "msg": "How much?",
        "from": "MyShop",
    }
    for method, path in [
        (SmsRuClient.limit, "/my/limit"),
        (SmsRuClient.free, "/my/free"),
        (SmsRuClient.senders, "/my/senders"),
        (SmsRuClient.check_auth, "/auth/check"),
        (SmsRuClient.callbacks, "/callback/get"),
    ]:
        request = sent(method)
        assert request.url.path == path
        assert request.url.params["json"] == "1"
        assert form(request) == {"api_id": API_ID}


def test_base_url_trailing_slash() -> None:
    seen: list[httpx.Request] = []

    async def main() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(reply(OK, seen=seen))) as http:
            await SmsRuClient(API_ID, base_url="http://emulator:8080/", http=http).check_auth()

    asyncio.run(main())
    assert str(seen[0].url) == "http://emulator:8080/auth/check?json=1"


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.send([f"7925{i:07d}" for i in range(101)], "hi"),
        lambda c: c.send([], "hi"),
        lambda c: c.send(["79255070602"], ""),
        lambda c: c.send(["79255070602"], "   "),
        lambda c: c.send(["79255070602", "79255070602"], "hi"),
        lambda c: c.send(["+79255070602"], "hi"),
        lambda c: c.send(["79255070602"], "hi", ttl=0),
        lambda c: c.send_multi({}),
        lambda c: c.send_multi({f"7925{i:07d}": "hi" for i in range(101)}),
        lambda c: c.send_multi({"79255070602": ""}),
        lambda c: c.status([]),
        lambda c: c.status([f"000000-{i}" for i in range(101)]),
        lambda c: c.status(["a,b"]),
        lambda c: c.cost([f"7925{i:07d}" for i in range(101)], "hi"),
    ],
)
def test_invalid_arguments_raise_before_any_request(
    call: Callable[[SmsRuClient], Awaitable[Any]],
) -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(ValueError):
        run(reply(OK, seen=seen), call)
    assert seen == []


def test_hundred_numbers_is_allowed() -> None:
    phones = [f"7925{i:07d}" for i in range(100)]
    request = sent(lambda c: c.send(phones, "hi"))
    assert form(request)["to"] == ",".join(phones)


def test_a_single_string_is_not_a_list_of_numbers() -> None:
    with pytest.raises(TypeError):
        run(reply(OK), lambda c: c.send("79255070602", "hi"))


# --- Replies and failures ---------------------------------------------------------------------


def test_pretty_printed_json_with_escaped_slashes() -> None:
    body = (
        '{\n    "status": "OK",\n    "status_code": 100,\n    "callback": [\n'
        '        "https:\\/\\/example.com\\/a\\/b"\n    ]\n}'
    )
    assert run(reply(body), SmsRuClient.callbacks) == ["https://example.com/a/b"]


def test_reply_key_with_raw_phone_is_normalized() -> None:
    body = json.dumps(
        {
            "status": "OK",
            "status_code": 100,
            "sms": {"+7 (925) 507-06-02": {"status": "OK", "status_code": 100, "sms_id": "1-2"}},
            "balance": "4122.56",
        }
    )
    result = run(reply(body), lambda c: c.send(["79255070602"], "hi"))
    assert list(result.numbers) == ["79255070602"]
    assert result.numbers["79255070602"].phone == "79255070602"
    assert result.numbers["79255070602"].ok is True
    assert result.balance == Decimal("4122.56")


def test_top_level_error() -> None:
    body = '{"status":"ERROR","status_code":200,"status_text":"Неправильный api_id"}'
    with pytest.raises(SmsRuApiError) as caught:
        run(reply(body), lambda c: c.send(["79255070602"], "hi"))
    assert caught.value.code == 200
    assert caught.value.text == "Неправильный api_id"
    assert caught.value.outcome is Outcome.ACCOUNT_PROBLEM
    assert str(caught.value) == "SMS.ru error 200: Неправильный api_id"


def test_http_500_with_smsru_json_is_an_api_error() -> None:
    body = (
        '{"status":"ERROR","status_code":500,"status_text":"Ошибка на сервере. Повторите запрос."}'
    )
    with pytest.raises(SmsRuApiError) as caught:
        run(reply(body, status=500), SmsRuClient.balance)
    assert caught.value.code == 500
    assert caught.value.outcome is Outcome.RETRY_LATER


def test_http_502_html_is_unavailable_not_processed() -> None:
    with pytest.raises(SmsRuUnavailable) as caught:
        run(reply("<html>502 Bad Gateway</html>", status=502), SmsRuClient.balance)
    assert caught.value.maybe_processed is False
    assert "502" in caught.value.reason


@pytest.mark.parametrize(
    ("exc_type", "maybe_processed"),
    [
        (httpx.ConnectError, False),
        (httpx.ConnectTimeout, False),
        (httpx.PoolTimeout, False),
        (httpx.WriteError, False),
        (httpx.WriteTimeout, False),
        (httpx.ReadTimeout, True),
        (httpx.ReadError, True),
        (httpx.RemoteProtocolError, True),
        (httpx.ProxyError, True),
    ],
)
def test_transport_errors(exc_type: type[httpx.TransportError], maybe_processed: bool) -> None:
    with pytest.raises(SmsRuUnavailable) as caught:
        run(raising(exc_type), lambda c: c.send(["79255070602"], "hi"))
    assert caught.value.maybe_processed is maybe_processed
    assert exc_type.__name__ in caught.value.reason


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("garbage", 200),
        ("", 200),
        ('{"status": "OK"}', 200),  # JSON, but no status_code
        ("[1, 2]", 200),
        ("Not Found", 404),
        ('{"status_code": "abc"}', 200),
    ],
)
def test_unusable_reply_may_have_been_processed(body: str, status: int) -> None:
    with pytest.raises(SmsRuUnavailable) as caught:
        run(reply(body, status=status), lambda c: c.send(["79255070602"], "hi"))
    assert caught.value.maybe_processed is True


def test_balance_missing_from_reply() -> None:
    with pytest.raises(SmsRuUnavailable):
        run(reply(OK), SmsRuClient.balance)


def test_api_id_never_in_exception_text() -> None:
    def leaky(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError(f"failed sending {request.content.decode()}", request=request)

    failures: list[tuple[Handler, Callable[[SmsRuClient], Awaitable[Any]]]] = [
        (leaky, SmsRuClient.balance),
        (raising(httpx.ConnectError), SmsRuClient.balance),
        (raising(httpx.ReadTimeout), SmsRuClient.balance),
        (reply("garbage"), SmsRuClient.balance),
        (reply("<html/>", 502), SmsRuClient.balance),
        (reply('{"status":"ERROR","status_code":200}'), SmsRuClient.balance),
        (reply('{"status":"ERROR","status_code":301,"status_text":"x"}', 403), SmsRuClient.free),
    ]
    for handler, call in failures:
        with pytest.raises(SmsRuError) as caught:
            run(handler, call)
        assert API_ID not in str(caught.value)
        assert API_ID not in repr(caught.value)
        assert API_ID not in " ".join(str(a) for a in caught.value.args)
        assert API_ID not in "".join(traceback.format_exception(caught.value))


def test_error_text_falls_back_to_meaning() -> None:
    with pytest.raises(SmsRuApiError) as caught:
        run(reply('{"status":"ERROR","status_code":201}'), SmsRuClient.balance)
    assert caught.value.text == "Не хватает средств на лицевом счету"
    assert caught.value.outcome is Outcome.ACCOUNT_PROBLEM


# --- Lifecycle --------------------------------------------------------------------------------


def test_repr_hides_api_id() -> None:
    async def main() -> str:
        async with SmsRuClient(API_ID) as client:
            return repr(client)

    assert API_ID not in asyncio.run(main())


def test_empty_api_id_rejected() -> None:
    with pytest.raises(ValueError):
        SmsRuClient("")


def test_own_http_client_default_timeout_and_close() -> None:
    async def main() -> httpx.AsyncClient:
        async with SmsRuClient(API_ID) as client:
            http = client._http
            assert http.timeout == httpx.Timeout(connect=5.0, read=60.0, write=10.0, pool=5.0)
            assert not http.is_closed
        return http

    assert asyncio.run(main()).is_closed


def test_shared_http_client_is_left_open() -> None:
    async def main() -> bool:
        async with httpx.AsyncClient(transport=httpx.MockTransport(reply(OK))) as http:
            client = SmsRuClient(API_ID, http=http)
            await client.aclose()
            return http.is_closed

    assert asyncio.run(main()) is False


def test_explicit_timeout_applies_per_request() -> None:
    seen: list[httpx.Request] = []
    timeout = httpx.Timeout(1.0, read=2.0)

    async def main() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(reply(OK, seen=seen))) as http:
            await SmsRuClient(API_ID, http=http, timeout=timeout).check_auth()

    asyncio.run(main())
    assert seen[0].extensions["timeout"] == timeout.as_dict()
