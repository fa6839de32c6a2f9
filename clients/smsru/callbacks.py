"""SMS.ru status callbacks: the form SMS.ru POSTs, its signature, and its records.

SMS.ru POSTs `data[0]…data[N]` (each a newline-joined record) and `hash`, where
`hash = sha256(api_id + data[0] + data[1] + …)` in the numeric order of the keys.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

_DATA_KEY = re.compile(r"^data\[([0-9]{1,6})\]$")
MAX_ID = 64
MIN_CODE, MAX_CODE = -1, 9999


@dataclass(frozen=True, slots=True)
class CallbackRecord:
    """One `data[i]` record: `kind` is sms_status, callcheck_status, test, or anything newer."""

    kind: str
    id: str | None
    code: int | None
    at: datetime | None


def ordered_values(form: Mapping[str, str]) -> list[str]:
    """The `data[i]` values in numeric key order (keys may have gaps: 0, 1, 2, 4)."""
    indexed = []
    for key, value in form.items():
        match = _DATA_KEY.match(key)
        if match:
            indexed.append((int(match.group(1)), value))
    return [value for _, value in sorted(indexed)]


def sign(api_id: str, values: Iterable[str]) -> str:
    return hashlib.sha256((api_id + "".join(values)).encode()).hexdigest()


def status_record(sms_id: str, code: int, at: int | None = None) -> str:
    """One `sms_status` record as SMS.ru writes it (`at`: Unix time, default now)."""
    return f"sms_status\n{sms_id}\n{code}\n{at or int(time.time())}"


def signed_form(api_id: str, values: list[str]) -> dict[str, str]:
    """The form SMS.ru POSTs: `data[0..n]` and their signature (for emulators and tests)."""
    return {f"data[{n}]": value for n, value in enumerate(values)} | {"hash": sign(api_id, values)}


def verify(api_ids: Iterable[str], values: list[str], given_hash: str) -> str | None:
    """The api_id whose signature matches `given_hash` (compared in constant time), or None."""
    given = given_hash.strip().lower().encode()
    found = None
    for api_id in api_ids:
        if hmac.compare_digest(sign(api_id, values).encode(), given):
            found = api_id
    return found


def parse_record(value: str) -> CallbackRecord:
    """Parse one record leniently: unknown kinds and missing lines are kept, not rejected."""
    lines = value.replace("\r\n", "\n").split("\n")
    kind = lines[0].strip()
    if kind == "test":
        return CallbackRecord(kind=kind, id=None, code=None, at=_timestamp(lines[1:2]))
    record_id = lines[1].strip() if len(lines) > 1 and lines[1].strip() else None
    if record_id is not None and len(record_id) > MAX_ID:
        record_id = None  # no sms_id is that long; it names no message of ours
    code = _integer(lines[2]) if len(lines) > 2 else None
    if code is not None and not MIN_CODE <= code <= MAX_CODE:
        code = None
    return CallbackRecord(kind=kind, id=record_id, code=code, at=_timestamp(lines[3:4]))


def _integer(text: str) -> int | None:
    """A code or a timestamp; anything else (or absurdly long) is unreadable."""
    text = text.strip()
    if not text.isascii() or len(text) > 12:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _timestamp(lines: list[str]) -> datetime | None:
    seconds = _integer(lines[0]) if lines else None
    if seconds is None or not 0 < seconds < 10**10:
        return None
    return datetime.fromtimestamp(seconds, tz=UTC)
