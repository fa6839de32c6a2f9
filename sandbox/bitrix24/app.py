"""HTTP face of the Bitrix24 portal emulator: REST at /rest/{method} (OAuth: `authserver.py`).

REST parameters come from the query string and from a form (PHP-style nesting) or JSON body, the
body winning as in PHP's `$_REQUEST`. The envelope is written the way the recorded responses show
it: a `time` block on success, bare `{error, error_description}` on failure, and batch maps encoded
as PHP encodes arrays (empty or 0..n-1 keys become JSON lists).
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.bitrix24.batch_refs import REFERABLE, resolve
from sandbox.bitrix24.messages import FORM_CONTENT_TYPE
from sandbox.bitrix24.php_form import parse_str
from sandbox.bitrix24.php_values import php_empty
from sandbox.bitrix24.portal import PortalEmulator
from sandbox.bitrix24.rest import MSK, Params, RestError

_BATCH_KEYS = ("result", "result_error", "result_total", "result_next", "result_time")
MAX_BATCH = 50
OPERATING_WINDOW = (
    600  # time.operating_reset_at = start + 600 (recorded batch_operation_time_limit)
)


def create_app(portal: PortalEmulator) -> Starlette:
    async def rest(request: Request) -> Response:
        method = request.path_params["method"].lower().removesuffix(".json")
        delay, failure = portal.take_fault()
        delay += portal.latency
        if delay > 0:
            await asyncio.sleep(delay)
        if failure is not None:
            status, body = failure.status, failure.body
        else:
            status, body = await _serve(portal, method, request)
        portal.log_request(method, status)
        return _json(body, status)

    return Starlette(
        routes=[
            Route("/rest/{method}", rest, methods=["GET", "POST"]),
        ]
    )


async def _serve(portal: PortalEmulator, method: str, request: Request) -> tuple[int, Any]:
    """Rate limit (every request counts), parameters, method lookup, auth, then execution."""
    start = time.time()
    if not portal.admit():
        error = RestError.system("QUERY_LIMIT_EXCEEDED")
        return error.status, error.body
    try:
        params = await _read_params(request)
    except ValueError as exc:  # the portal's answer to a broken body is unknown: refuse loudly
        return 400, {"error": "INVALID_REQUEST", "error_description": str(exc)}
    token = params.pop("auth", None)
    try:
        if method != "batch" and not portal.has_method(method):
            raise RestError.system("ERROR_METHOD_NOT_FOUND")
        user_id = portal.authenticate(token if isinstance(token, str) else None)
        began = time.perf_counter()
        if method == "batch":
            body: dict[str, Any] = {"result": _batch(portal, user_id, params)}
        else:
            outcome = portal.execute(method, params, user_id)
            body = {"result": outcome.result}
            if outcome.next is not None:
                body["next"] = outcome.next
            if outcome.total is not None:
                body["total"] = outcome.total
        body["time"] = time_block(start, time.perf_counter() - began)
        return 200, body
    except RestError as exc:
        return exc.status, exc.body


async def _read_params(request: Request) -> Params:
    """Query string, then the body (form or JSON object); ValueError says what JSON is malformed.

    Forms are read as PHP reads them, which never fails; a JSON body can.
    """
    params: Params = parse_str(request.scope["query_string"])
    if request.method != "POST":
        return params
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if content_type == "application/json" and body.strip():
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("the JSON body is not an object")
        params.update(data)
    elif content_type == FORM_CONTENT_TYPE:
        params.update(parse_str(body))
    return params


def _batch(portal: PortalEmulator, user_id: int, params: Params) -> dict[str, Any]:
    """Run `cmd` in order, each sub-call unmetered (the batch was counted once).

    A failed sub-call is reported in `result_error` and leaves no trace in the other maps; with
    `halt` the rest are not run. A nested `batch` refuses the whole request (405, as documented).
    A sub-call's parameters may refer to what earlier ones answered (`batch_refs.py`).
    """
    upper = {str(key).upper(): value for key, value in params.items()}
    cmd = upper.get("CMD")
    if isinstance(cmd, dict):
        commands = list(cmd.items())
    elif isinstance(cmd, list):
        commands = list(enumerate(cmd))
    else:  # the portal skips a `cmd` that is not an array
        commands = []
    if len(commands) > MAX_BATCH:
        raise RestError.system("ERROR_BATCH_LENGTH_EXCEEDED")
    calls = []
    for key, command in commands:
        text = command if isinstance(command, str) else ""
        name, _, query = text.partition("?")
        calls.append((str(key), name.lower().removesuffix(".json"), query))
    if any(name == "batch" for _, name, _ in calls):
        raise RestError.system("ERROR_BATCH_METHOD_NOT_ALLOWED")
    halt = not php_empty(upper.get("HALT"))
    maps: dict[str, dict[str, Any]] = {name: {} for name in _BATCH_KEYS}
    answers = {name: maps["result" if name == "result" else f"result_{name}"] for name in REFERABLE}
    for key, name, query in calls:
        start, began = time.time(), time.perf_counter()
        try:
            params = resolve(_sub_params(query), answers)
            outcome = portal.execute(name, params, user_id)
        except RestError as exc:
            maps["result_error"][key] = exc.body
            if halt:
                break
            continue
        maps["result"][key] = outcome.result
        if outcome.total is not None:
            maps["result_total"][key] = outcome.total
        if outcome.next is not None:
            maps["result_next"][key] = outcome.next
        maps["result_time"][key] = time_block(start, time.perf_counter() - began)
    return {name: php_array(values) for name, values in maps.items()}


def _sub_params(query: str) -> Params:
    try:
        raw = query.encode("utf-8", "surrogateescape")  # a form's stray bytes go back as they came
    except UnicodeEncodeError:  # an unpaired \uD800-style escape, which PHP's json_decode refuses
        raise RestError("INVALID_REQUEST", "a command is not valid UTF-8") from None
    params = parse_str(raw)
    params.pop("auth", None)  # sub-calls act with the batch's own token
    return params


def php_array(values: dict[str, Any]) -> dict[str, Any] | list[Any]:
    """As PHP's json_encode writes an array: a list when empty or keyed 0..n-1 in order."""
    if list(values) == [str(i) for i in range(len(values))]:
        return list(values.values())
    return values


def time_block(start: float, processing: float) -> dict[str, Any]:
    """The `time` object of a response or of one batch sub-call (fields as recorded in 2024)."""
    finish = time.time()
    return {
        "start": start,
        "finish": finish,
        "duration": finish - start,
        "processing": processing,
        "date_start": datetime.fromtimestamp(start, MSK).isoformat(timespec="seconds"),
        "date_finish": datetime.fromtimestamp(finish, MSK).isoformat(timespec="seconds"),
        "operating_reset_at": int(start) + OPERATING_WINDOW,
        "operating": 0,
    }


def _json(body: Any, status: int) -> Response:
    # PHP's json_encode escapes "/" as "\/" (seen in the observed OAuth body) and non-ASCII.
    text = json.dumps(body, separators=(",", ":")).replace("/", "\\/")
    return Response(text, status_code=status, media_type="application/json; charset=utf-8")
