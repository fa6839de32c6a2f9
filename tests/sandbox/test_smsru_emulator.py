"""The SMS.ru emulator answers like the live API, over real HTTP.

One emulator server serves the module; each test resets it and works on its own fresh account.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from support import RECORDED as RECORDINGS_ROOT

from clients.smsru.callbacks import ordered_values, sign
from sandbox.server import BackgroundServer
from sandbox.smsru import SmsRuEmulator, create_app
from sandbox.smsru.codes import status_text

RECORDED = RECORDINGS_ROOT / "smsru"
RU = "79255070602"
RU2 = "74993221627"


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[SmsRuEmulator, httpx.Client]]:
    emulator = SmsRuEmulator()
    with (
        BackgroundServer(create_app(emulator)) as server,
        httpx.Client(base_url=server.url, trust_env=False, timeout=5) as client,
    ):
        yield emulator, client


@pytest.fixture
def emulator(shared: tuple[SmsRuEmulator, httpx.Client]) -> SmsRuEmulator:
    shared[0].reset()
    return shared[0]


@pytest.fixture
def client(shared: tuple[SmsRuEmulator, httpx.Client], emulator: SmsRuEmulator) -> httpx.Client:
    """The HTTP client; asking for `emulator` too makes sure the emulator was reset first."""
    return shared[1]


@pytest.fixture
def new_account(emulator: SmsRuEmulator) -> Callable[..., str]:
    def make(**options: Any) -> str:
        api_id = uuid.uuid4().hex
        emulator.add_account(api_id, **options)
        return api_id

    return make


@pytest.fixture
def api_id(new_account: Callable[..., str]) -> str:
    return new_account()


def call(client: httpx.Client, path: str, api_id: str, **params: str) -> Any:
    response = client.post(path, params={"json": "1"}, data={"api_id": api_id, **params})
    assert response.status_code == 200
    return response.json()


def wait_until(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


class Receiver:
    """A callback handler failing its first POSTs (a 500, then a wrong body), then taking them."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.posts: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self.app = Starlette(routes=[Route("/cb", self._handle, methods=["POST"])])

    async def _handle(self, request: Request) -> PlainTextResponse:
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        with self._lock:
            self.posts.append(form)
            count = len(self.posts)
        if count <= self.failures:
            return PlainTextResponse("oops", 500 if count == 1 else 200)
        return PlainTextResponse("100\n")

    def records(self) -> list[str]:
        with self._lock:
            accepted = self.posts[self.failures :]
        return [value for form in accepted for value in ordered_values(form)]


@pytest.fixture
def receiver_url() -> Iterator[Callable[[Receiver], str]]:
    servers: list[BackgroundServer] = []

    def start(receiver: Receiver) -> str:
        server = BackgroundServer(receiver.app)
        server.start()
        servers.append(server)
        return server.url + "/cb"

    yield start
    for server in servers:
        server.stop()


# --- recordings -----------------------------------------------------------------------------------


SMS_ID = re.compile(r'"sms_id": "[^"]*"')  # ids differ from run to run


RECORDINGS = sorted(
    path.stem
    for path in RECORDED.glob("*.json")
    if "interactions" in json.loads(path.read_text())  # not callbacks.json: payloads only
)


def test_every_recording_is_replayed() -> None:
    assert len(RECORDINGS) == 11, f"recordings missing from {RECORDED}"


@pytest.mark.parametrize("name", RECORDINGS)
def test_replays_recordings_byte_for_byte(
    name: str, client: httpx.Client, new_account: Callable[..., str]
) -> None:
    # The recorded account had no letter sender and a daily limit of 10.
    api_id = new_account(senders=(), daily_limit=10)
    for interaction in json.loads((RECORDED / f"{name}.json").read_text())["interactions"]:
        request, expected = interaction["request"], interaction["response"]
        uri = urlsplit(request["uri"])
        body = {k: api_id if v == "<API_ID>" else v for k, v in request["body"].items()}
        response = client.post(f"{uri.path}?{uri.query}", data=body)
        assert response.status_code == expected["status"]
        for header in ("Content-Type", "Sms-Api"):
            assert response.headers[header] == expected["headers"][header]
        assert SMS_ID.sub("ID", response.text) == SMS_ID.sub("ID", expected["body_text"])


# --- /sms/send ------------------------------------------------------------------------------------


def test_send_single_reply_bytes(
    client: httpx.Client, emulator: SmsRuEmulator, api_id: str
) -> None:
    response = client.post("/sms/send?json=1", data={"api_id": api_id, "to": RU, "msg": "Hi"})

    [sent] = emulator.sent
    assert (sent.phone, sent.text, sent.test) == (RU, "Hi", False)
    assert re.fullmatch(r"\d{6}-\d+", sent.sms_id)
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["sms-api"] == "1"
    assert response.text == (
        '{\n    "status": "OK",\n    "status_code": 100,\n    "sms": {\n'
        f'        "{RU}": {{\n            "status": "OK",\n            "status_code": 100,\n'
        f'            "sms_id": "{sent.sms_id}"\n        }}\n    }},\n    "balance": 996.51\n}}'
    )


def test_slash_is_escaped(client: httpx.Client, api_id: str) -> None:
    response = client.post(
        "/callback/add?json=1", data={"api_id": api_id, "url": "http://127.0.0.1/a/b"}
    )
    assert '"http:\\/\\/127.0.0.1\\/a\\/b"' in response.text


def test_send_comma_list(client: httpx.Client, api_id: str) -> None:
    reply = call(client, "/sms/send", api_id, to=f"+{RU}, {RU2}", msg="Hi")
    assert list(reply["sms"]) == [RU, RU2]
    assert all(entry["status_code"] == 100 for entry in reply["sms"].values())
    assert reply["balance"] == 1000 - 2 * 3.49


@pytest.mark.parametrize("form", ["multi", "to"])
def test_send_per_recipient_texts(
    form: str, client: httpx.Client, emulator: SmsRuEmulator, api_id: str
) -> None:
    reply = call(client, "/sms/send", api_id, **{f"{form}[{RU}]": "First", f"{form}[{RU2}]": "2"})
    assert [e["status_code"] for e in reply["sms"].values()] == [100, 100]
    assert [(m.phone, m.text) for m in emulator.sent] == [(RU, "First"), (RU2, "2")]


def test_multi_cannot_be_mixed_with_to_and_msg(client: httpx.Client, api_id: str) -> None:
    reply = call(client, "/sms/send", api_id, **{f"multi[{RU}]": "First", "msg": "Hi"})
    assert reply["status"] == "ERROR"


def test_empty_texts(client: httpx.Client, api_id: str) -> None:
    assert call(client, "/sms/send", api_id, to=RU, msg="")["status_code"] == 203
    assert call(client, "/sms/send", api_id, **{f"multi[{RU}]": ""})["status_code"] == 203
    reply = call(client, "/sms/send", api_id, **{f"multi[{RU}]": "", f"multi[{RU2}]": "x"})
    assert [e["status_code"] for e in reply["sms"].values()] == [203, 100]


def test_more_than_100_numbers(client: httpx.Client, api_id: str) -> None:
    numbers = ",".join(f"79000000{i:03d}" for i in range(101))
    assert call(client, "/sms/send", api_id, to=numbers, msg="Hi") == {
        "status": "ERROR",
        "status_code": 213,
        "status_text": status_text(213),
    }


@pytest.mark.parametrize("key", ["wrong", ""])
def test_unknown_api_id(key: str, client: httpx.Client) -> None:
    reply = call(client, "/sms/send", key, to=RU, msg="Hi")
    assert reply == {"status": "ERROR", "status_code": 200, "status_text": status_text(200)}


def test_unknown_method(client: httpx.Client, api_id: str) -> None:
    assert call(client, "/sms/sendd", api_id)["status_code"] == 211


def test_per_number_errors(
    client: httpx.Client, emulator: SmsRuEmulator, new_account: Callable[..., str]
) -> None:
    api_id = new_account(stoplist=["79000000009"])
    emulator.set_number_error("79000000007", 207)
    reply = call(
        client, "/sms/send", api_id, to=f"{RU},8-800-junk,123,79000000009,79000000007", msg="Hi"
    )
    codes = {number: entry["status_code"] for number, entry in reply["sms"].items()}
    assert codes == {RU: 100, "8-800-junk": 202, "123": 202, "79000000009": 209, "79000000007": 207}
    assert reply["sms"]["79000000007"]["status_text"] == status_text(207)
    assert "sms_id" not in reply["sms"]["123"]
    assert reply["balance"] == 1000 - 3.49
    assert [m.phone for m in emulator.sent] == [RU]


def test_sender_must_be_approved(client: httpx.Client, api_id: str) -> None:
    reply = call(client, "/sms/send", api_id, to=RU, msg="Hi", **{"from": "OTHER"})
    assert reply["sms"][RU]["status_code"] == 204
    reply = call(client, "/sms/send", api_id, to=RU, msg="Hi", **{"from": "SMSBRIDGE"})
    assert reply["sms"][RU]["status_code"] == 100


def test_too_long(client: httpx.Client, api_id: str) -> None:
    reply = call(client, "/sms/send", api_id, to=f"{RU}", msg="ж" * 537)
    assert reply["sms"][RU]["status_code"] == 205


def test_text_must_be_utf8(client: httpx.Client, api_id: str) -> None:
    response = client.post(
        "/sms/send?json=1",
        content=f"api_id={api_id}&to={RU}&msg=%FF".encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.json()["status_code"] == 212


def test_get_and_split_parameters(
    client: httpx.Client, emulator: SmsRuEmulator, api_id: str
) -> None:
    reply = client.get("/sms/send", params={"api_id": api_id, "to": RU, "msg": "a", "json": "1"})
    assert reply.json()["sms"][RU]["status_code"] == 100
    reply = client.post(f"/sms/send?json=1&to={RU}", data={"api_id": api_id, "msg": "b"})
    assert reply.json()["sms"][RU]["status_code"] == 100
    assert [m.text for m in emulator.sent] == ["a", "b"]


def test_legacy_plain_text(client: httpx.Client, emulator: SmsRuEmulator, api_id: str) -> None:
    response = client.post("/sms/send", data={"api_id": api_id, "to": f"{RU},123", "msg": "Hi"})
    [sent] = emulator.sent
    assert response.text == f"100\n{sent.sms_id}\n202\nbalance=996.51"
    assert client.post("/my/balance", data={"api_id": "wrong"}).text == "200"


def test_test_mode_issues_ids_but_charges_and_progresses_nothing(
    client: httpx.Client, emulator: SmsRuEmulator, api_id: str
) -> None:
    reply = call(client, "/sms/send", api_id, to=RU, msg="Hi", test="1")
    sms_id = reply["sms"][RU]["sms_id"]
    assert reply["balance"] == 1000.0
    assert [(m.sms_id, m.test) for m in emulator.sent] == [(sms_id, True)]
    time.sleep(0.3)
    entry = call(client, "/sms/status", api_id, sms_id=sms_id)["sms"][sms_id]
    assert (entry["status_code"], entry["cost"]) == (100, 0.0)


def test_balance_decreases_and_runs_out(
    client: httpx.Client, emulator: SmsRuEmulator, new_account: Callable[..., str]
) -> None:
    api_id = new_account(balance=Decimal("5"))
    assert call(client, "/sms/send", api_id, to=f"{RU},{RU2}", msg="Hi")["status_code"] == 201
    assert emulator.sent == []
    assert call(client, "/sms/send", api_id, to=RU, msg="Hi")["balance"] == 1.51
    assert call(client, "/my/balance", api_id) == {
        "status": "OK",
        "status_code": 100,
        "balance": 1.51,
    }
    assert call(client, "/sms/send", api_id, to=RU, msg="Hi")["status_code"] == 201


def test_daily_limit(client: httpx.Client, new_account: Callable[..., str]) -> None:
    api_id = new_account(daily_limit=2)
    assert (
        call(client, "/sms/send", api_id, to=f"{RU},{RU2},79000000001", msg="x")["status_code"]
        == 206
    )
    assert call(client, "/sms/send", api_id, to=f"{RU},{RU2}", msg="x")["status_code"] == 100
    assert call(client, "/sms/send", api_id, to=RU, msg="x")["status_code"] == 206
    limit = call(client, "/my/limit", api_id)
    assert (limit["total_limit"], limit["used_today"]) == ("2", 2)


def test_top_level_error_switch(client: httpx.Client, emulator: SmsRuEmulator, api_id: str) -> None:
    emulator.set_top_level_error(201)
    for path in ("/sms/send", "/sms/cost", "/sms/status"):
        assert call(client, path, api_id, to=RU, msg="x", sms_id="1")["status_code"] == 201
    emulator.set_top_level_error(None)
    assert call(client, "/sms/send", api_id, to=RU, msg="x")["status_code"] == 100


# --- /sms/status ----------------------------------------------------------------------------------


def test_status_progresses_to_delivered_or_the_set_final(
    client: httpx.Client, emulator: SmsRuEmulator, api_id: str
) -> None:
    now = [1000.0]
    emulator.clock = lambda: now[0]
    emulator.delays = (5.0, 10.0, 15.0)
    emulator.set_final(RU2, 104)
    sms = call(client, "/sms/send", api_id, to=f"{RU},{RU2}", msg="Hi")["sms"]
    delivered, expired = sms[RU]["sms_id"], sms[RU2]["sms_id"]
    seen = []
    for moment in (1004.9, 1005.0, 1009.9, 1010.0, 1014.9, 1015.0):
        now[0] = moment
        seen.append(emulator.status_of(delivered))
    assert seen == [100, 101, 101, 102, 102, 103]
    reply = call(client, "/sms/status", api_id, sms_id=f"{delivered},{expired},000000-1")
    assert reply == {
        "status": "OK",
        "status_code": 100,
        "sms": {
            delivered: {
                "status": "OK",
                "status_code": 103,
                "cost": 3.49,
                "status_text": status_text(103),
            },
            expired: {
                "status": "OK",
                "status_code": 104,
                "cost": 3.49,
                "status_text": status_text(104),
            },
            "000000-1": {
                "status": "ERROR",
                "status_code": -1,
                "status_text": "Сообщение не найдено",
            },
        },
    }


def test_status_of_another_accounts_message_is_not_found(
    client: httpx.Client, api_id: str, new_account: Callable[..., str]
) -> None:
    sms_id = call(client, "/sms/send", api_id, to=RU, msg="Hi")["sms"][RU]["sms_id"]
    other = new_account()
    assert call(client, "/sms/status", other, sms_id=sms_id)["sms"][sms_id]["status_code"] == -1


# --- /sms/cost and account methods ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("ж" * 70, 1),
        ("ж" * 71, 2),
        ("{" * 80, 1),
        ("a" * 159 + "€", 2),
        ("a" * 1224, 8),
        ("ж" * 536, 8),
    ],
)
def test_cost_counts_segments(
    text: str, parts: int, client: httpx.Client, emulator: SmsRuEmulator, api_id: str
) -> None:
    reply = call(client, "/sms/cost", api_id, to=f"{RU},380501234567,1", msg=text)
    ru, ua = float(Decimal("3.49") * parts), float(Decimal("9.90") * parts)
    assert reply["sms"] == {
        RU: {"status": "OK", "status_code": 100, "cost": ru, "sms": parts},
        "380501234567": {"status": "OK", "status_code": 100, "cost": ua, "sms": parts},
        "1": {"status": "ERROR", "status_code": 202, "status_text": status_text(202)},
    }
    assert (reply["total_cost"], reply["total_sms"]) == (
        float(Decimal(ru) + Decimal(ua)),
        2 * parts,
    )
    assert call(client, "/my/balance", api_id)["balance"] == 1000.0
    assert emulator.sent == []


def test_how_an_emoji_counts_is_a_switch(
    client: httpx.Client, emulator: SmsRuEmulator, api_id: str
) -> None:
    text = "\N{GRINNING FACE}" * 36  # 72 UTF-16 units, 36 characters
    assert call(client, "/sms/cost", api_id, to=RU, msg=text)["sms"][RU]["sms"] == 2
    emulator.ucs2_unit = "codepoint"
    assert call(client, "/sms/cost", api_id, to=RU, msg=text)["sms"][RU]["sms"] == 1
    emulator.reset()
    assert emulator.ucs2_unit == "utf16"


def test_account_methods(client: httpx.Client, new_account: Callable[..., str]) -> None:
    api_id = new_account(senders=("ONE", "TWO"))
    assert call(client, "/my/senders", api_id)["senders"] == ["ONE", "TWO"]
    assert call(client, "/my/limit", api_id) == {
        "status": "OK",
        "status_code": 100,
        "used_today": 0,
    }
    assert call(client, "/auth/check", api_id) == {"status": "OK", "status_code": 100}


# --- callbacks ------------------------------------------------------------------------------------


def test_callback_registration(client: httpx.Client, api_id: str) -> None:
    assert call(client, "/callback/add", api_id, url="ftp://x")["status_code"] == 901
    assert call(client, "/callback/add", api_id, url="http://a/1")["callback"] == ["http://a/1"]
    assert call(client, "/callback/add", api_id, url="https://b/2")["callback"] == [
        "http://a/1",
        "https://b/2",
    ]
    assert call(client, "/callback/del", api_id, url="http://a/1") == {
        "status": "OK",
        "status_code": 100,
    }
    assert call(client, "/callback/del", api_id, url="http://a/1")["status_code"] == 902
    assert call(client, "/callback/get", api_id)["callback"] == ["https://b/2"]


def test_callbacks_are_signed_batched_and_retried(
    client: httpx.Client,
    emulator: SmsRuEmulator,
    api_id: str,
    receiver_url: Callable[[Receiver], str],
) -> None:
    receiver = Receiver(failures=2)
    url = receiver_url(receiver)
    emulator.callback_retry_delay = 0.1
    call(client, "/callback/add", api_id, url=url)
    numbers = [f"79000000{i:03d}" for i in range(150)]
    call(client, "/sms/send", api_id, to=",".join(numbers[:100]), msg="Hi")
    call(client, "/sms/send", api_id, to=",".join(numbers[100:]), msg="Hi")

    wait_until(lambda: len(receiver.records()) == 3 * 150)
    posts = receiver.posts
    assert posts[0] == posts[1] == posts[2]  # the failed batch is resent unchanged
    assert max(len(ordered_values(form)) for form in posts) == 100
    for form in posts:
        assert form["hash"] == sign(api_id, ordered_values(form))
    codes: dict[str, list[int]] = {}
    for record in receiver.records():
        kind, sms_id, code, at = record.split("\n")
        assert kind == "sms_status"
        assert abs(int(at) - time.time()) < 5
        codes.setdefault(sms_id, []).append(int(code))
    assert sorted(codes) == sorted(m.sms_id for m in emulator.sent)
    assert all(seen == [101, 102, 103] for seen in codes.values())
    results = [d.result for d in emulator.callback_deliveries]
    assert results[:3] == [500, 200, 200]
    assert emulator.callback_deliveries[0].hash == posts[0]["hash"]


def test_lost_callbacks_leave_only_status_polling(
    client: httpx.Client,
    emulator: SmsRuEmulator,
    api_id: str,
    receiver_url: Callable[[Receiver], str],
) -> None:
    receiver = Receiver()
    call(client, "/callback/add", api_id, url=receiver_url(receiver))
    emulator.callbacks_enabled = False
    sms_id = call(client, "/sms/send", api_id, to=RU, msg="Hi")["sms"][RU]["sms_id"]
    wait_until(
        lambda: (
            call(client, "/sms/status", api_id, sms_id=sms_id)["sms"][sms_id]["status_code"] == 103
        )
    )
    time.sleep(0.1)
    assert receiver.posts == []
    emulator.post_test_heartbeat()
    wait_until(lambda: len(receiver.records()) == 1)
    assert re.fullmatch(r"test\n\d{10}", receiver.records()[0])


# --- outages and latency --------------------------------------------------------------------------


def test_outages_count_down(client: httpx.Client, emulator: SmsRuEmulator, api_id: str) -> None:
    emulator.set_outage("http500", remaining=2)
    for _ in range(2):
        response = client.post("/my/balance?json=1", data={"api_id": api_id})
        assert response.status_code == 500
        assert response.json() == {
            "status": "ERROR",
            "status_code": 500,
            "status_text": status_text(500),
        }
    assert call(client, "/my/balance", api_id)["status_code"] == 100
    emulator.outage = "220"
    assert call(client, "/sms/send", api_id, to=RU, msg="x")["status_code"] == 220
    emulator.outage_remaining = 1
    assert call(client, "/sms/send", api_id, to=RU, msg="x")["status_code"] == 220
    assert (emulator.outage, emulator.outage_remaining) == (None, None)
    assert call(client, "/sms/send", api_id, to=RU, msg="x")["status_code"] == 100
    assert len(emulator.sent) == 1
    with pytest.raises(ValueError, match="unknown outage"):
        emulator.outage = "down"  # type: ignore[assignment]


@pytest.mark.parametrize(("kind", "processed"), [("hang", 0), ("process_then_hang", 1)])
def test_hangs(
    kind: str, processed: int, client: httpx.Client, emulator: SmsRuEmulator, api_id: str
) -> None:
    emulator.hang_seconds = 0.5
    emulator.set_outage(kind, remaining=1)  # type: ignore[arg-type]
    with pytest.raises(httpx.ReadTimeout):
        client.post("/sms/send?json=1", data={"api_id": api_id, "to": RU, "msg": "x"}, timeout=0.2)
    assert len(emulator.sent) == processed


def test_latency_and_request_log(
    client: httpx.Client, emulator: SmsRuEmulator, api_id: str
) -> None:
    emulator.latency = 0.2
    started = time.monotonic()
    call(client, "/auth/check", api_id)
    assert time.monotonic() - started >= 0.2
    assert [(r.path, r.params) for r in emulator.requests] == [("/auth/check", {"json": "1"})]
