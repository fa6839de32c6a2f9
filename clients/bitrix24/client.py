"""Async client for one portal's Bitrix24 REST API, with OAuth tokens.

Every call is `POST {client_endpoint}{method}` with a JSON body that carries `auth`, so the token
never shows up in a URL or in httpx's request log. Each HTTP request first takes a slot from the
`RateLimiter`. A 401 `expired_token` makes the `TokenSource` refresh the pair and the call go again;
503 QUERY_LIMIT_EXCEEDED, 500/502/503/504 and transport failures (read timeouts included) are
retried with capped exponential backoff; every other error is raised at once.

Retrying after a read timeout can repeat a request the portal already carried out. That is safe
only because what we call is idempotent (`messageservice.message.status.update`, `*.update`,
`*.get`, `*.list`); a `*.add` through this client could create its item twice.
The HTTP client's read timeout should exceed Bitrix24's own 60 s limit on a request.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from clients.backoff import backoff
from clients.bitrix24.errors import (
    Bitrix24Error,
    Bitrix24Unavailable,
    QueryLimitExceeded,
    TokenExpired,
    api_error,
    scrub,
    transport_failure,
)
from clients.bitrix24.limiter import RateLimiter
from clients.bitrix24.query import build_query
from clients.bitrix24.tokens import TokenPair, TokenSource

MAX_BATCH = 50  # ERROR_BATCH_LENGTH_EXCEEDED past this
PAGE_SIZE = 50  # every *.list page is 50 rows; the server ignores other sizes
NOT_RUN = "NOT_RUN"  # our code for a sub-call a batch answer says nothing about
MAX_REFRESHES = 2  # expired_token right after refreshing twice: refreshing again will not help
_RETRY_STATUSES = frozenset({500, 502, 503, 504})
# 5xx answers that will not change in seconds: a deleted portal, a block set by Bitrix24 support.
_FINAL_CODES = frozenset({"PORTAL_DELETED", "OVERLOAD_LIMIT"})


@dataclass(frozen=True, slots=True)
class BatchResult:
    """A batch's sub-calls by key. A key in neither `results` nor `errors` was not run (halt)."""

    results: dict[str, Any]
    errors: dict[str, Bitrix24Error]
    totals: dict[str, int]  # list sub-calls: rows in all pages
    nexts: dict[str, int]  # list sub-calls with more pages: `start` of the next one

    def failure(self, key: str) -> Bitrix24Error | None:
        """Why sub-call `key` came to nothing: Bitrix24's error for it, or an error coded
        `NOT_RUN` when the answer has neither a result nor an error for it; None if it has a result.
        """
        if key in self.errors:
            return self.errors[key]
        if key in self.results:
            return None
        return Bitrix24Error(NOT_RUN, "the batch answer has no result for it")


class Bitrix24Client:
    def __init__(
        self,
        tokens: TokenSource,
        limiter: RateLimiter,
        http: httpx.AsyncClient,
        *,
        max_attempts: int = 6,
        backoff: float = 1.0,
        backoff_cap: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
        self._tokens = tokens
        self._limiter = limiter
        self._http = http
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._backoff_cap = backoff_cap
        self._sleep = sleep

    async def call(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        """The method's `result`."""
        return (await self.call_full(method, params))["result"]

    async def call_full(
        self, method: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The whole reply body: `result`, plus `total`, `next`, `time` when the method has them."""
        return await self._post(method, dict(params or {}))

    async def batch(
        self, calls: Mapping[str, tuple[str, Mapping[str, Any]]], *, halt: bool = False
    ) -> BatchResult:
        """Up to 50 sub-calls in one request (one slot of the rate limit); the batch itself
        succeeds even when sub-calls fail, so look at `errors`."""
        if len(calls) > MAX_BATCH:
            raise ValueError(f"a batch takes at most {MAX_BATCH} calls, not {len(calls)}")
        if not calls:
            return BatchResult({}, {}, {}, {})
        cmd = {key: f"{method}?{build_query(params)}" for key, (method, params) in calls.items()}
        data = await self._post("batch", {"halt": int(halt), "cmd": cmd})
        return _batch_result(data["result"])

    async def list_all(
        self, method: str, params: Mapping[str, Any] | None = None, *, page_size: int = PAGE_SIZE
    ) -> AsyncIterator[dict[str, Any]]:
        """Every row of a `*.list` method whose result is a list of rows with `ID`, in ID order.

        The documented recipe for large exports: `start=-1` (no counting), `order ID ASC`, and
        `>ID` the last ID seen merged into the filter; a page shorter than `page_size` is the last.
        A `>ID` already in the filter is where to start. `order` and `start` are ours to set.
        """
        if not 1 <= page_size <= PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{PAGE_SIZE}, not {page_size}")
        base = dict(params or {})
        if "order" in base or "start" in base:
            raise ValueError("list_all sets order and start itself")
        conditions = dict(base.pop("filter", None) or {})
        last_id = conditions.pop(">ID", 0)
        select = base.get("select")
        if select and "ID" not in select and "*" not in select:
            base["select"] = [*select, "ID"]
        while True:
            page = await self.call(
                method,
                {
                    **base,
                    "filter": {**conditions, ">ID": last_id},
                    "order": {"ID": "ASC"},
                    "start": -1,
                },
            )
            if not isinstance(page, list):
                raise ValueError(f"{method} did not return a list of rows")
            for row in page:
                yield row
            if len(page) < page_size:
                return
            last_id = int(page[-1]["ID"])

    async def _post(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        pair = await self._tokens.current()
        failures = refreshes = 0
        while True:
            await self._limiter.acquire()
            try:
                return await self._attempt(pair, method, body)
            except TokenExpired:
                refreshes += 1
                if refreshes > MAX_REFRESHES:
                    raise
                pair = await self._tokens.refreshed(pair)  # an OAuthError goes to the caller
            except Bitrix24Error as error:
                failures += 1
                if not _transient(error) or failures >= self._max_attempts:
                    raise
                refreshes = 0
                delay = backoff(failures, self._backoff, self._backoff_cap)
                if isinstance(error, QueryLimitExceeded):
                    await self._limiter.penalize(delay)  # our next acquire() waits it out
                else:
                    await self._sleep(delay)

    async def _attempt(self, pair: TokenPair, method: str, body: dict[str, Any]) -> dict[str, Any]:
        """One request; the body is read whatever the HTTP status."""
        secrets = (pair.access_token, pair.refresh_token)
        url = f"{pair.client_endpoint.rstrip('/')}/{method}"
        try:
            response = await self._http.post(url, json={**body, "auth": pair.access_token})
        except httpx.RequestError as exc:
            raise transport_failure(f"Bitrix24 {method}", exc, secrets) from None
        status = response.status_code
        try:
            data = json.loads(response.content)
        except ValueError:
            data = None
        if isinstance(data, dict) and "error" in data:
            description = scrub(str(data.get("error_description") or ""), secrets)
            raise api_error(str(data["error"] or ""), description, status)
        if not isinstance(data, dict) or "result" not in data or not response.is_success:
            # A 5xx without a Bitrix24 body is a front proxy refusing: nothing was done.
            raise Bitrix24Unavailable(
                f"Bitrix24 {method}: HTTP {status} without a Bitrix24 JSON reply",
                status < 500,
                status,
            )
        return data


def _transient(error: Bitrix24Error) -> bool:
    if isinstance(error, QueryLimitExceeded):
        return True
    if error.status is None:  # no HTTP answer at all: a transport failure
        return isinstance(error, Bitrix24Unavailable)
    return error.status in _RETRY_STATUSES and error.code not in _FINAL_CODES


def _batch_result(outer: Any) -> BatchResult:
    if not isinstance(outer, dict):
        raise Bitrix24Unavailable("Bitrix24 batch: result is not an object", True)
    errors = {key: _sub_error(value) for key, value in _keyed(outer, "result_error").items()}
    return BatchResult(
        results=_keyed(outer, "result"),
        errors=errors,
        totals={key: int(value) for key, value in _keyed(outer, "result_total").items()},
        nexts={key: int(value) for key, value in _keyed(outer, "result_next").items()},
    )


def _keyed(outer: dict[str, Any], name: str) -> dict[str, Any]:
    """A PHP array from the batch reply, by command key.

    PHP turns numeric keys like "0" into integers and json-encodes an array whose keys are exactly
    0..n-1 in order as a JSON list: always so when empty, and e.g. `result_error` for failed
    commands keyed "0" and "1". So a list's index is its command key.
    """
    value = outer.get(name, [])
    if isinstance(value, dict):
        return {str(key): item for key, item in value.items()}
    if isinstance(value, list):
        return {str(index): item for index, item in enumerate(value)}
    raise Bitrix24Unavailable(f"Bitrix24 batch: {name} is neither an object nor a list", True)


def _sub_error(value: Any) -> Bitrix24Error:
    """A failed sub-call; `error` is sometimes "" (e.g. crm.*.get of a bad ID) and kept so."""
    if not isinstance(value, dict):
        return Bitrix24Error("", str(value))
    return api_error(str(value.get("error") or ""), str(value.get("error_description") or ""))
