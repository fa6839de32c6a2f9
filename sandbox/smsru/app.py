"""HTTP face of the SMS.ru emulator: the live API's paths, parameters and reply bytes.

Parameters come from the query string and a form body alike (the body wins, as PHP's `$_REQUEST`
does). The lifespan runs the loop that moves statuses on and POSTs callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Callable, Mapping
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.smsru.callbacks import callback_form
from sandbox.smsru.state import MAX_NUMBERS, PendingDelivery, Reply, SmsRuEmulator, error, ok
from sandbox.smsru.stoplist import stoplist_add, stoplist_del, stoplist_get

_TICK = 0.01  # seconds between progression and delivery passes
_CALLBACK_TIMEOUT = 5.0
_FREE_PER_DAY = 5  # free messages a day to the account's own number
_PER_RECIPIENT = re.compile(r"(to|multi)\[([^\]]*)\]")

Handler = Callable[[SmsRuEmulator, str, Mapping[str, str]], Reply]


def create_app(emulator: SmsRuEmulator) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=_CALLBACK_TIMEOUT, trust_env=False) as client:
            loop = asyncio.create_task(_background(emulator, client))
            try:
                yield
            finally:
                loop.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await loop

    async def api(request: Request) -> Response:
        params = await _read_params(request)
        path = request.url.path
        emulator.log_request(path, params)
        if emulator.latency > 0:
            await asyncio.sleep(emulator.latency)
        as_json = params.get("json") == "1"
        outage = emulator.take_outage()
        if outage == "http500":
            return _render(path, error(500), as_json, status=500)
        if outage == "220":
            return _render(path, error(220), as_json)
        if outage == "hang":  # nothing done; whoever waits this long gets a server error
            await asyncio.sleep(emulator.hang_seconds)
            return _render(path, error(500), as_json, status=500)
        reply = _dispatch(emulator, path, params)
        if outage == "process_then_hang":
            await asyncio.sleep(emulator.hang_seconds)
        return _render(path, reply, as_json)

    return Starlette(
        routes=[Route("/{path:path}", api, methods=["GET", "POST"])], lifespan=lifespan
    )


# --- request parsing and reply rendering ---------------------------------------------------------


async def _read_params(request: Request) -> dict[str, str]:
    """Query then form-body parameters; bytes that are not UTF-8 survive as surrogates (→ 212)."""
    params = _parse(request.scope["query_string"])
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        params.update(_parse(await request.body()))
    return params


def _parse(raw: bytes) -> dict[str, str]:
    text = raw.decode("utf-8", "surrogateescape")
    return dict(parse_qsl(text, keep_blank_values=True, errors="surrogateescape"))


def _render(path: str, reply: Reply, as_json: bool, *, status: int = 200) -> Response:
    if as_json:
        # PHP's json_encode(JSON_PRETTY_PRINT | JSON_UNESCAPED_UNICODE) escapes "/" as "\/".
        body = json.dumps(reply, ensure_ascii=False, indent=4).replace("/", "\\/")
        media_type = "application/json; charset=utf-8"
    else:
        body = _legacy(path, reply)
        media_type = "text/plain; charset=utf-8"
    return Response(
        body.encode("utf-8", "replace"),
        status_code=status,
        media_type=media_type,
        headers={"Sms-Api": "1"},
    )


def _legacy(path: str, reply: Reply) -> str:
    """The plain-text reply: the code, then for a send one line per number and the balance."""
    lines = [str(reply["status_code"])]
    if path == "/sms/send" and reply["status"] == "OK":
        lines += [
            entry["sms_id"] if entry["status"] == "OK" else str(entry["status_code"])
            for entry in reply["sms"].values()
        ]
        lines.append(f"balance={reply['balance']:.2f}")
    return "\n".join(lines)


def _dispatch(emulator: SmsRuEmulator, path: str, params: Mapping[str, str]) -> Reply:
    handler = _METHODS.get(path)
    if handler is None:
        return error(211)
    api_id = params.get("api_id", "")
    if not emulator.knows(api_id):
        return error(200)
    return handler(emulator, api_id, params)


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _recipients(params: Mapping[str, str], text: str) -> list[tuple[str, str]] | Reply:
    """(number, text) pairs from `to` + text, or from `to[N]=text` / `multi[N]=text`.

    The per-recipient forms may not be mixed with each other or with `to`/`msg` (S1: "to и msg
    нужно убрать"); the live answer to a mix is unknown, so the emulator refuses it with 202.
    """
    per_recipient = [
        (match.group(1), match.group(2), value)
        for key, value in params.items()
        if (match := _PER_RECIPIENT.fullmatch(key))
    ]
    if per_recipient:
        forms = {form for form, _, _ in per_recipient}
        if len(forms) > 1 or "to" in params or "msg" in params:
            return error(202)
        pairs = [(number, value) for _, number, value in per_recipient]
    else:
        pairs = [(n, text) for n in params.get("to", "").split(",") if n.strip()]
    if not pairs:
        return error(202)
    if len(pairs) > MAX_NUMBERS:
        return error(213)
    if not all(_is_utf8(value) for _, value in pairs):
        return error(212)
    return pairs


# --- methods -----------------------------------------------------------------------------------


def _send(emulator: SmsRuEmulator, api_id: str, params: Mapping[str, str]) -> Reply:
    if (code := emulator.top_level_error) is not None:
        return error(code)
    pairs = _recipients(params, params.get("msg", ""))
    if isinstance(pairs, dict):
        return pairs
    if not any(text for _, text in pairs):
        return error(203)
    sender = params.get("from") or None
    test, daytime = params.get("test") == "1", params.get("daytime") == "1"
    return emulator.send(api_id, pairs, sender, test=test, daytime=daytime)


def _cost(emulator: SmsRuEmulator, api_id: str, params: Mapping[str, str]) -> Reply:
    if (code := emulator.top_level_error) is not None:
        return error(code)
    # `text` is the legacy name that the live API still takes (S6); no text prices one SMS (S5).
    pairs = _recipients(params, params.get("msg") or params.get("text", ""))
    if isinstance(pairs, dict):
        return pairs
    return emulator.cost(api_id, pairs, params.get("from") or None)


def _status(emulator: SmsRuEmulator, api_id: str, params: Mapping[str, str]) -> Reply:
    if (code := emulator.top_level_error) is not None:
        return error(code)
    ids = [i.strip() for i in params.get("sms_id", "").split(",") if i.strip()]
    if not ids:  # undocumented; an explicit "not found" keeps a client bug visible
        return error(-1)
    if len(ids) > MAX_NUMBERS:  # no documented cap or code: assume send's 100 and its 213
        return error(213)
    return emulator.status(api_id, ids)


def _balance(emulator: SmsRuEmulator, api_id: str, _: Mapping[str, str]) -> Reply:
    return ok(balance=float(emulator.balance_of(api_id)))


def _limit(emulator: SmsRuEmulator, api_id: str, _: Mapping[str, str]) -> Reply:
    limit, used = emulator.limit_of(api_id)
    if limit is None:
        return ok(used_today=used)
    return ok(total_limit=str(limit), used_today=used)  # a string, as recorded


def _free(_emulator: SmsRuEmulator, _api_id: str, _: Mapping[str, str]) -> Reply:
    return ok(total_free=_FREE_PER_DAY, used_today=None)  # null, as recorded


def _senders(emulator: SmsRuEmulator, api_id: str, _: Mapping[str, str]) -> Reply:
    senders = emulator.senders_of(api_id)
    return ok(senders=list(senders)) if senders else ok()  # no key at all when none, as recorded


def _auth_check(_emulator: SmsRuEmulator, _api_id: str, _: Mapping[str, str]) -> Reply:
    return ok()


def _callback_add(emulator: SmsRuEmulator, api_id: str, params: Mapping[str, str]) -> Reply:
    url = params.get("url", "")
    if not url.startswith(("http://", "https://")):
        return error(901)
    return ok(callback=emulator.add_callback(api_id, url))


def _callback_get(emulator: SmsRuEmulator, api_id: str, _: Mapping[str, str]) -> Reply:
    return ok(callback=emulator.callbacks(api_id))


def _callback_del(emulator: SmsRuEmulator, api_id: str, params: Mapping[str, str]) -> Reply:
    if not emulator.remove_callback(api_id, params.get("url", "")):
        return error(902)
    return ok()  # the live reply carries no list


_METHODS: dict[str, Handler] = {
    "/sms/send": _send,
    "/sms/status": _status,
    "/sms/cost": _cost,
    "/my/balance": _balance,
    "/my/limit": _limit,
    "/my/free": _free,
    "/my/senders": _senders,
    "/auth/check": _auth_check,
    "/callback/add": _callback_add,
    "/callback/get": _callback_get,
    "/callback/del": _callback_del,
    "/stoplist/add": stoplist_add,
    "/stoplist/del": stoplist_del,
    "/stoplist/get": stoplist_get,
}


# --- background: status progression and callback delivery --------------------------------------


async def _background(emulator: SmsRuEmulator, client: httpx.AsyncClient) -> None:
    in_flight: set[asyncio.Task[None]] = set()
    try:
        while True:
            emulator.advance()
            for delivery in emulator.claim_deliveries():
                task = asyncio.create_task(_deliver(emulator, client, delivery))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            await asyncio.sleep(_TICK)
    finally:
        for task in in_flight:
            task.cancel()
        await asyncio.gather(*in_flight, return_exceptions=True)


async def _deliver(
    emulator: SmsRuEmulator, client: httpx.AsyncClient, delivery: PendingDelivery
) -> None:
    """POST one batch; only a 200 whose body is `100` counts as received (reference §5)."""
    form = callback_form(delivery.values, delivery.hash)
    try:
        response = await client.post(delivery.url, data=form)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        emulator.finish_delivery(delivery, type(exc).__name__, done=False)
        return
    done = response.status_code == 200 and response.text.strip() == "100"
    emulator.finish_delivery(delivery, response.status_code, done=done)
