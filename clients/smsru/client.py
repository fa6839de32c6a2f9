"""Async client for the SMS.ru HTTP API (`json=1`).

Every call is `POST {base_url}/{group}/{method}?json=1` with a form body. The api_id travels in
the body only, so it never shows up in URLs, httpx's request log or any exception text.
Replies are parsed by `replies`; failures become `SmsRuApiError` or `SmsRuUnavailable`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from types import TracebackType
from typing import Any

import httpx

from clients.smsru.errors import SmsRuUnavailable
from clients.smsru.replies import (
    CostReply,
    FreeReply,
    LimitReply,
    SendReply,
    StatusReply,
    check_reply,
    parse_balance,
    parse_cost,
    parse_free,
    parse_limit,
    parse_send,
    parse_status,
    parse_stoplist,
    parse_strings,
    to_int,
)
from clients.transport import DEFAULT_TIMEOUT, NOT_SENT

MAX_PER_REQUEST = 100  # S1's parameter table; code 213's higher figures vary by revision
# Calls one job keeps in flight on an account: SMS.ru states no limit, so we stay modest.
CALLS_AT_ONCE = 4
_PHONE = re.compile(r"[0-9]{5,15}")


class SmsRuClient:
    """One SMS.ru account (api_id). Use as `async with SmsRuClient(...) as client:`."""

    def __init__(
        self,
        api_id: str,
        *,
        base_url: str = "https://sms.ru",
        http: httpx.AsyncClient | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> None:
        if not api_id:
            raise ValueError("SMS.ru api_id is empty")
        self._api_id = api_id
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._owns_http = http is None
        if http is None:
            http = httpx.AsyncClient(timeout=DEFAULT_TIMEOUT if timeout is None else timeout)
        self._http = http

    def __repr__(self) -> str:
        return f"SmsRuClient(base_url={self._base_url!r})"

    async def __aenter__(self) -> SmsRuClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client, but only one we created: a shared one belongs to the caller."""
        if self._owns_http:
            await self._http.aclose()

    async def send(
        self,
        to: Sequence[str],
        text: str,
        *,
        sender: str | None = None,
        test: bool = False,
        ttl: int | None = None,
        translit: bool = False,
        daytime: bool = False,
    ) -> SendReply:
        """Send one text to 1..100 numbers; each number gets its own result in the reply.

        `daytime`: SMS.ru holds a message that would arrive in the recipient's night until their
        morning (it then ignores `time`)."""
        params = {"to": ",".join(_phones(to)), "msg": _message(text)}
        params |= _send_options(sender, test, ttl, translit, daytime)
        return parse_send(await self._call("sms/send", params))

    async def send_multi(
        self,
        messages: Mapping[str, str],
        *,
        sender: str | None = None,
        test: bool = False,
        ttl: int | None = None,
        translit: bool = False,
        daytime: bool = False,
    ) -> SendReply:
        """Send 1..100 numbers each its own text in one request (`multi[phone]=text`)."""
        phones = _phones(list(messages))
        params = {f"multi[{phone}]": _message(messages[phone]) for phone in phones}
        params |= _send_options(sender, test, ttl, translit, daytime)
        return parse_send(await self._call("sms/send", params))

    async def status(self, sms_ids: Sequence[str]) -> StatusReply:
        """Current status of 1..100 messages (callbacks are preferred; this is the fallback)."""
        ids = _bounded(sms_ids, "sms_ids")
        for sms_id in ids:
            if not sms_id or "," in sms_id or sms_id != sms_id.strip():
                raise ValueError(f"invalid sms_id {sms_id!r}")
        return parse_status(await self._call("sms/status", {"sms_id": ",".join(ids)}))

    async def cost(
        self, to: Sequence[str], text: str, *, sender: str | None = None, translit: bool = False
    ) -> CostReply:
        """Price and segment count of a text for 1..100 numbers; nothing is sent."""
        params = {"to": ",".join(_phones(to)), "msg": _message(text)}
        params |= _send_options(sender, False, None, translit)
        return parse_cost(await self._call("sms/cost", params))

    async def balance(self) -> Decimal:
        balance = parse_balance(await self._call("my/balance"))
        if balance is None:
            raise SmsRuUnavailable("SMS.ru balance reply has no balance", maybe_processed=True)
        return balance

    async def limit(self) -> LimitReply:
        return parse_limit(await self._call("my/limit"))

    async def free(self) -> FreeReply:
        return parse_free(await self._call("my/free"))

    async def senders(self) -> list[str]:
        """Approved sender names; SMS.ru omits the key entirely when there are none."""
        return parse_strings(await self._call("my/senders"), "senders")

    async def check_auth(self) -> None:
        """Raise `SmsRuApiError` if the api_id is not accepted."""
        await self._call("auth/check")

    async def callbacks(self) -> list[str]:
        """Registered callback URLs."""
        return parse_strings(await self._call("callback/get"), "callback")

    async def add_callback(self, url: str) -> list[str]:
        return parse_strings(await self._call("callback/add", {"url": url}), "callback")

    async def delete_callback(self, url: str) -> list[str]:
        """Remove a callback URL; the live reply may omit the remaining list (then [])."""
        return parse_strings(await self._call("callback/del", {"url": url}), "callback")

    async def stoplist(self) -> dict[str, str]:
        """The account's own stop list: number (digits) → the note stored with it."""
        return parse_stoplist(await self._call("stoplist/get"))

    async def add_to_stoplist(self, phone: str, note: str = "") -> None:
        """SMS.ru refuses sends to it with 209 from now on, and charges nothing."""
        await self._call(
            "stoplist/add", {"stoplist_phone": _phones([phone])[0], "stoplist_text": note}
        )

    async def remove_from_stoplist(self, phone: str) -> None:
        await self._call("stoplist/del", {"stoplist_phone": _phones([phone])[0]})

    async def _call(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """POST one method and return its checked JSON reply, whatever the HTTP status."""
        form = {**(params or {}), "api_id": self._api_id}
        try:
            response = await self._http.post(
                f"{self._base_url}/{path}",
                params={"json": "1"},
                data=form,
                timeout=httpx.USE_CLIENT_DEFAULT if self._timeout is None else self._timeout,
            )
        # `from None`: the httpx error's own text could echo the form body; `reason` keeps its
        # type and (scrubbed) message.
        except NOT_SENT as exc:
            raise SmsRuUnavailable(self._reason(path, exc), maybe_processed=False) from None
        except httpx.RequestError as exc:
            raise SmsRuUnavailable(self._reason(path, exc), maybe_processed=True) from None

        try:
            data = json.loads(response.content)
        except ValueError:
            data = None
        if not isinstance(data, dict) or to_int(data.get("status_code")) is None:
            # A 5xx without an SMS.ru body is the front (proxy) refusing: nothing was done.
            # Anything else may be a processed request whose answer we cannot read.
            raise SmsRuUnavailable(
                f"SMS.ru {path}: HTTP {response.status_code} without an SMS.ru JSON reply",
                maybe_processed=response.status_code < 500,
            )
        check_reply(data)
        return data

    def _reason(self, path: str, exc: Exception) -> str:
        detail = str(exc).replace(self._api_id, "<api_id>")
        return f"SMS.ru {path}: {type(exc).__name__}" + (f": {detail}" if detail else "")


def _bounded(items: Sequence[str], what: str) -> list[str]:
    if isinstance(items, str):
        raise TypeError(f"{what} must be a sequence of strings, not one string")
    values = list(items)
    if not 1 <= len(values) <= MAX_PER_REQUEST:
        raise ValueError(f"{what}: {len(values)} given, SMS.ru takes 1..{MAX_PER_REQUEST}")
    return values


def _phones(to: Sequence[str]) -> list[str]:
    phones = _bounded(to, "phone numbers")
    for phone in phones:
        if not _PHONE.fullmatch(phone):
            raise ValueError(f"phone {phone!r} is not a digits-only international number")
    if len(set(phones)) != len(phones):
        raise ValueError("duplicate phone numbers in one request")
    return phones


def _message(text: str) -> str:
    if not text or not text.strip():
        raise ValueError("message text is empty")
    return text


def _send_options(
    sender: str | None, test: bool, ttl: int | None, translit: bool, daytime: bool = False
) -> dict[str, str]:
    options = {}
    if sender:
        options["from"] = sender
    if test:
        options["test"] = "1"
    if ttl is not None:
        if not 1 <= ttl <= 1440:
            raise ValueError(f"ttl must be 1..1440 minutes, not {ttl}")
        options["ttl"] = str(ttl)
    if translit:
        options["translit"] = "1"
    if daytime:
        options["daytime"] = "1"
    return options
