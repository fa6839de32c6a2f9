"""Typed SMS.ru replies, parsed leniently from the decoded `json=1` body.

The live API is loose (see `shared/reference/smsru-api.md` §10): numbers arrive as strings or
null, optional keys are often absent, ERROR entries may still carry an `sms_id`, and reply keys
may echo the raw phone input. So every field is optional unless the reply is useless without it,
money is `Decimal` (never float), and unknown keys and codes are kept or ignored, never rejected.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from clients.smsru.codes import meaning
from clients.smsru.errors import SmsRuApiError

_NOT_DIGITS = re.compile(r"[^0-9]")


@dataclass(frozen=True, slots=True)
class NumberResult:
    """One recipient in a send or cost reply. `ok` is the entry's own status, not the request's."""

    phone: str
    ok: bool
    status_code: int
    sms_id: str | None
    status_text: str | None
    cost: Decimal | None
    segments: int | None


@dataclass(frozen=True, slots=True)
class SendReply:
    numbers: dict[str, NumberResult]  # keyed by digits-only phone
    balance: Decimal | None


@dataclass(frozen=True, slots=True)
class SmsStatus:
    sms_id: str
    ok: bool
    status_code: int
    status_text: str | None
    cost: Decimal | None


@dataclass(frozen=True, slots=True)
class StatusReply:
    statuses: dict[str, SmsStatus]  # keyed by sms_id
    balance: Decimal | None


@dataclass(frozen=True, slots=True)
class CostReply:
    numbers: dict[str, NumberResult]  # keyed by digits-only phone
    total_cost: Decimal | None
    total_sms: int | None


@dataclass(frozen=True, slots=True)
class LimitReply:
    total_limit: int | None
    used_today: int | None


@dataclass(frozen=True, slots=True)
class FreeReply:
    total_free: int | None
    used_today: int | None


def check_reply(data: Mapping[str, Any]) -> None:
    """Raise `SmsRuApiError` if the request as a whole failed.

    `status` decides when present; without it, only `status_code` 100 counts as success.
    A dict with no usable `status_code` is not an SMS.ru reply at all: `ValueError`.
    """
    code = to_int(data.get("status_code"))
    if code is None:
        raise ValueError("not an SMS.ru reply: no status_code")
    status = data.get("status")
    failed = status != "OK" if status is not None else code != 100
    if failed:
        raise SmsRuApiError(code, _text(data.get("status_text")) or meaning(code))


def parse_send(data: Mapping[str, Any]) -> SendReply:
    check_reply(data)
    return SendReply(numbers=_numbers(data.get("sms")), balance=to_decimal(data.get("balance")))


def parse_cost(data: Mapping[str, Any]) -> CostReply:
    check_reply(data)
    return CostReply(
        numbers=_numbers(data.get("sms")),
        total_cost=to_decimal(data.get("total_cost")),
        total_sms=to_int(data.get("total_sms")),
    )


def parse_status(data: Mapping[str, Any]) -> StatusReply:
    check_reply(data)
    statuses = {}
    for sms_id, entry in _entries(data.get("sms")):
        ok, code = _entry_status(entry)
        statuses[sms_id] = SmsStatus(
            sms_id=sms_id,
            ok=ok,
            status_code=code,
            status_text=_text(entry.get("status_text")),
            cost=to_decimal(entry.get("cost")),
        )
    return StatusReply(statuses=statuses, balance=to_decimal(data.get("balance")))


def parse_balance(data: Mapping[str, Any]) -> Decimal | None:
    check_reply(data)
    return to_decimal(data.get("balance"))


def parse_limit(data: Mapping[str, Any]) -> LimitReply:
    check_reply(data)
    return LimitReply(
        total_limit=to_int(data.get("total_limit")), used_today=to_int(data.get("used_today"))
    )


def parse_free(data: Mapping[str, Any]) -> FreeReply:
    check_reply(data)
    return FreeReply(
        total_free=to_int(data.get("total_free")), used_today=to_int(data.get("used_today"))
    )


def parse_strings(data: Mapping[str, Any], key: str) -> list[str]:
    """A list of strings under `key` (`senders`, `callback`); absent or not a list gives []."""
    check_reply(data)
    value = data.get(key)
    if not isinstance(value, list):
        return []
    return [str(item) for item in value if item is not None]


def parse_stoplist(data: Mapping[str, Any]) -> dict[str, str]:
    """`/stoplist/get`: `stoplist` maps number → note (absent or empty when there are none)."""
    check_reply(data)
    value = data.get("stoplist")
    if not isinstance(value, Mapping):
        return {}
    return {
        digits(str(phone)): str(note or "") for phone, note in value.items() if digits(str(phone))
    }


def digits(phone: str) -> str:
    """The phone reduced to its digits: reply keys may echo raw input such as "+7 (925) …"."""
    return _NOT_DIGITS.sub("", phone)


def to_decimal(value: Any) -> Decimal | None:
    """Money from a JSON number or string, via `str` so 4122.56 stays exactly 4122.56."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def to_int(value: Any) -> int | None:
    """An int from a JSON number or a numeric string ("10"); anything else gives None."""
    number = to_decimal(value)
    if number is None or number.adjusted() > 18 or number != number.to_integral_value():
        return None
    return int(number)


def _numbers(sms: Any) -> dict[str, NumberResult]:
    numbers = {}
    for key, entry in _entries(sms):
        phone = digits(key)
        ok, code = _entry_status(entry)
        sms_id = entry.get("sms_id")
        numbers[phone] = NumberResult(
            phone=phone,
            ok=ok,
            status_code=code,
            sms_id=str(sms_id) if sms_id not in (None, "") else None,
            status_text=_text(entry.get("status_text")),
            cost=to_decimal(entry.get("cost")),
            segments=to_int(entry.get("sms")),
        )
    return numbers


def _entries(sms: Any) -> list[tuple[str, Mapping[str, Any]]]:
    """The (key, entry) pairs of an `sms` object; anything that is not an object is skipped."""
    if not isinstance(sms, Mapping):
        return []
    return [(str(key), entry) for key, entry in sms.items() if isinstance(entry, Mapping)]


def _entry_status(entry: Mapping[str, Any]) -> tuple[bool, int]:
    ok = entry.get("status") == "OK"
    code = to_int(entry.get("status_code"))
    if code is None:  # not seen live; keep the entry, with a code that classifies like its status
        code = 100 if ok else 0
    return ok, code


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
