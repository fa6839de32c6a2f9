"""State of the SMS.ru emulator: accounts, messages, callback outboxes and the test switches.

Plain Python behind one lock, because tests flip switches from their own thread while uvicorn serves
the emulator from another. Replies are built here as the dicts SMS.ru answers with, so that the HTTP
layer only parses parameters and renders bytes. Facts: `shared/reference/smsru-api.md`.
"""

from __future__ import annotations

import heapq
import itertools
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Literal, NamedTuple, get_args

from sandbox.smsru.callbacks import heartbeat_record, signature, sms_status_record
from sandbox.smsru.codes import status_text
from sandbox.smsru.segments import Ucs2Unit, count

Reply = dict[str, Any]
Outage = Literal["http500", "220", "hang", "process_then_hang"]

MAX_NUMBERS = 100  # S1 parameter table; the code table's 5000 is not trusted (reference §1)
MAX_SEGMENTS = 8  # code 205: "превышает 8 СМС"
CALLBACK_BATCH = 100  # records per callback POST
FINAL_CODES = frozenset({103, 104, 105, 106, 107, 108, 150})
DEFAULT_DELAYS = (0.05, 0.1, 0.2)
DEFAULT_RETRY_DELAY = 0.5  # real SMS.ru retries about every 60 s
DEFAULT_HANG_SECONDS = 120.0
_PRICE_RU = Decimal("3.49")  # numbers starting with 7
_PRICE_OTHER = Decimal("9.90")
_MSK = timezone(timedelta(hours=3))  # SMS.ru counts "today" in Moscow time
_PHONE = re.compile(r"\d{10,15}")
NIGHT_STARTS, DAY_STARTS = 20, 10  # `daytime=1`: from 20:00 a send waits for 10:00 (S1)


def ok(**fields: Any) -> Reply:
    return {"status": "OK", "status_code": 100, **fields}


def error(code: int) -> Reply:
    return {"status": "ERROR", "status_code": code, "status_text": status_text(code)}


def price(phone: str) -> Decimal:
    return _PRICE_RU if phone.startswith("7") else _PRICE_OTHER


@dataclass(frozen=True, slots=True)
class SentMessage:
    """One /sms/send entry that was given an sms_id (test sends and 221 entries included)."""

    sms_id: str
    api_id: str
    phone: str
    text: str
    sender: str | None
    test: bool
    at: datetime


class ApiRequest(NamedTuple):
    path: str
    params: dict[str, str]  # without api_id and password


class CallbackDelivery(NamedTuple):
    url: str
    values: list[str]
    hash: str
    result: int | str  # the receiver's HTTP status, or the name of the transport error


@dataclass(slots=True)
class _Account:
    balance: Decimal
    senders: tuple[str, ...]
    daily_limit: int | None
    stoplist: dict[str, str]  # number → note (/stoplist/*; sends to it get 209)
    initial_stoplist: dict[str, str] = field(default_factory=dict)  # what a reset restores
    callbacks: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Message:
    api_id: str
    phone: str
    cost: Decimal
    test: bool
    day: date
    status: int = 100


@dataclass(slots=True, eq=False)  # compared by identity: a reset or del replaces it
class _Outbox:
    """Records waiting for one callback URL; `batch` is resent unchanged until acknowledged."""

    pending: list[str] = field(default_factory=list)
    batch: list[str] | None = None
    busy: bool = False
    next_attempt: float = 0.0


@dataclass(frozen=True, slots=True)
class PendingDelivery:
    """A batch claimed by the delivery loop; hand it back with `finish_delivery`."""

    url: str
    values: list[str]
    hash: str
    outbox: _Outbox


class _Assessment(NamedTuple):
    key: str  # reply key: the digits when the number is valid, else the number as given
    text: str
    code: int
    segments: int
    cost: Decimal


class SmsRuEmulator:
    """A strict stand-in for SMS.ru; its plain attributes are switches tests may set at any time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._accounts: dict[str, _Account] = {}
        self._ids = itertools.count(1_000_000)
        self._seq = itertools.count()
        self._reset_locked()

    def _reset_locked(self) -> None:
        for account in self._accounts.values():
            account.stoplist = dict(account.initial_stoplist)
        self.latency = 0.0
        # Where the recipients are: `daytime=1` sends wait for their morning (a test may set a
        # zone where it is night now).
        self.recipient_timezone: timezone = _MSK
        self.delays = DEFAULT_DELAYS
        self.clock: Callable[[], float] = time.monotonic  # drives status progression only
        self.callbacks_enabled = True
        self.callback_retry_delay = DEFAULT_RETRY_DELAY
        self.hang_seconds = DEFAULT_HANG_SECONDS
        self.ucs2_unit: Ucs2Unit = "utf16"  # how an emoji counts: unpublished (see segments.py)
        # Rules by number (sandbox/smsru/outcomes.py): a send-time refusal code, a final status.
        self.refusal: Callable[[str], int | None] = lambda _digits: None
        self.final_status: Callable[[str], int] = lambda _digits: 103
        self._outage: Outage | None = None
        self._outage_remaining: int | None = None
        self._top_level_error: int | None = None
        self._number_errors: dict[str, int] = {}
        self._finals: dict[str, int] = {}
        self._messages: dict[str, _Message] = {}
        self._schedule: list[tuple[float, int, str, int | None]] = []
        self._sent: list[SentMessage] = []
        self._requests: list[ApiRequest] = []
        self._deliveries: list[CallbackDelivery] = []
        self._outboxes = {
            (api_id, url): _Outbox()
            for api_id, account in self._accounts.items()
            for url in account.callbacks
        }

    def reset(self) -> None:
        """Forget messages, logs, queued callbacks, switches and stop-list changes; keep accounts
        and their URLs."""
        with self._lock:
            self._reset_locked()

    # --- accounts -------------------------------------------------------------------------------

    def add_account(
        self,
        api_id: str,
        *,
        balance: Decimal = Decimal("1000"),
        senders: Iterable[str] = ("SMSBRIDGE",),
        daily_limit: int | None = None,
        stoplist: Iterable[str] = (),
    ) -> None:
        with self._lock:
            if api_id in self._accounts:
                raise ValueError("account already exists")
            self._accounts[api_id] = _Account(
                balance=Decimal(balance),
                senders=tuple(senders),
                daily_limit=daily_limit,
                stoplist={phone.removeprefix("+"): "" for phone in stoplist},
                initial_stoplist={phone.removeprefix("+"): "" for phone in stoplist},
            )

    def knows(self, api_id: str) -> bool:
        with self._lock:
            return api_id in self._accounts

    def balance_of(self, api_id: str) -> Decimal:
        with self._lock:
            return self._accounts[api_id].balance

    def set_balance(self, api_id: str, balance: Decimal) -> None:
        with self._lock:
            self._accounts[api_id].balance = Decimal(balance)

    def stoplist_of(self, api_id: str) -> dict[str, str]:
        with self._lock:
            return dict(self._accounts[api_id].stoplist)

    def add_to_stoplist(self, api_id: str, phone: str, note: str = "") -> None:
        with self._lock:
            self._accounts[api_id].stoplist[phone.removeprefix("+")] = note

    def remove_from_stoplist(self, api_id: str, phone: str) -> None:
        with self._lock:
            self._accounts[api_id].stoplist.pop(phone.removeprefix("+"), None)

    def senders_of(self, api_id: str) -> tuple[str, ...]:
        with self._lock:
            return self._accounts[api_id].senders

    def limit_of(self, api_id: str) -> tuple[int | None, int]:
        """(daily limit, messages sent today)."""
        with self._lock:
            return self._accounts[api_id].daily_limit, self._used_today(api_id)

    # --- switches -------------------------------------------------------------------------------

    @property
    def outage(self) -> Outage | None:
        with self._lock:
            return self._outage

    @outage.setter
    def outage(self, kind: Outage | None) -> None:
        _check_outage(kind)
        with self._lock:
            self._outage = kind

    @property
    def outage_remaining(self) -> int | None:
        with self._lock:
            return self._outage_remaining

    @outage_remaining.setter
    def outage_remaining(self, count: int | None) -> None:
        with self._lock:
            self._outage_remaining = count

    def set_outage(self, kind: Outage | None, remaining: int | None = None) -> None:
        """Set both outage switches at once, so no request sees one without the other."""
        _check_outage(kind)
        with self._lock:
            self._outage, self._outage_remaining = kind, remaining

    def take_outage(self) -> Outage | None:
        """The outage that applies to the request now arriving, counting it down."""
        with self._lock:
            kind = self._outage
            if kind is not None and self._outage_remaining is not None:
                self._outage_remaining -= 1
                if self._outage_remaining <= 0:
                    self._outage, self._outage_remaining = None, None
            return kind

    @property
    def top_level_error(self) -> int | None:
        with self._lock:
            return self._top_level_error

    def set_top_level_error(self, code: int | None) -> None:
        """Answer send, cost and status with this request-level error (e.g. 201, 200)."""
        with self._lock:
            self._top_level_error = code

    def set_number_error(self, phone: str, code: int | None) -> None:
        """Make send and cost answer this per-number error for `phone` (e.g. 207, 215)."""
        with self._lock:
            _set_or_clear(self._number_errors, phone.removeprefix("+"), code)

    def set_final(self, phone: str, code: int | None) -> None:
        """The final status messages to `phone` reach instead of 103."""
        if code is not None and code not in FINAL_CODES:
            raise ValueError(f"{code} is not a final status")
        with self._lock:
            _set_or_clear(self._finals, phone.removeprefix("+"), code)

    # --- introspection --------------------------------------------------------------------------

    @property
    def sent(self) -> list[SentMessage]:
        with self._lock:
            return list(self._sent)

    @property
    def requests(self) -> list[ApiRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def callback_deliveries(self) -> list[CallbackDelivery]:
        with self._lock:
            return list(self._deliveries)

    def status_of(self, sms_id: str) -> int | None:
        with self._lock:
            self._advance_locked(self.clock())
            message = self._messages.get(sms_id)
            return None if message is None else message.status

    def log_request(self, path: str, params: dict[str, str]) -> None:
        kept = {k: v for k, v in params.items() if k not in ("api_id", "password")}
        with self._lock:
            self._requests.append(ApiRequest(path, kept))

    # --- API operations (the caller has checked api_id) -----------------------------------------

    def send(
        self,
        api_id: str,
        recipients: Sequence[tuple[str, str]],
        sender: str | None,
        test: bool,
        daytime: bool = False,
    ) -> Reply:
        now, at = self.clock(), datetime.now(UTC)
        hold = self._night_left(at) if daytime else 0.0
        with self._lock:
            self._advance_locked(now)
            account = self._accounts[api_id]
            assessed = self._assess_all(account, recipients, sender, require_text=True)
            accepted = [a for a in assessed if a.code == 100]
            if not test:
                limit = account.daily_limit
                if limit is not None and self._used_today(api_id) + len(accepted) > limit:
                    return error(206)
                total = sum((a.cost for a in accepted), Decimal(0))
                if total > account.balance:
                    return error(201)
                account.balance -= total
            entries: dict[str, Reply] = {}
            for a in assessed:
                entry = ok() if a.code == 100 else error(a.code)
                if a.code in (100, 221):  # the live API gives 221 entries an sms_id too
                    entry["sms_id"] = self._issue(api_id, a, sender, test, now + hold, at)
                entries[a.key] = entry
            return ok(sms=entries, balance=float(account.balance))

    def cost(self, api_id: str, recipients: Sequence[tuple[str, str]], sender: str | None) -> Reply:
        with self._lock:
            account = self._accounts[api_id]
            assessed = self._assess_all(account, recipients, sender, require_text=False)
        entries = {
            a.key: ok(cost=float(a.cost), sms=a.segments) if a.code == 100 else error(a.code)
            for a in assessed
        }
        accepted = [a for a in assessed if a.code == 100]
        if not accepted:  # the live all-error reply had no totals
            return ok(sms=entries)
        total = sum((a.cost for a in accepted), Decimal(0))
        return ok(
            sms=entries,
            total_cost=float(total),
            total_sms=sum(a.segments for a in accepted),
        )

    def status(self, api_id: str, sms_ids: Sequence[str]) -> Reply:
        entries: dict[str, Reply] = {}
        with self._lock:
            self._advance_locked(self.clock())
            for sms_id in sms_ids:
                message = self._messages.get(sms_id)
                if message is None or message.api_id != api_id:
                    entries[sms_id] = error(-1)
                else:  # key order as in the status page's example (S3)
                    entries[sms_id] = {
                        "status": "OK",
                        "status_code": message.status,
                        "cost": float(message.cost),
                        "status_text": status_text(message.status),
                    }
        return ok(sms=entries)

    def add_callback(self, api_id: str, url: str) -> list[str]:
        with self._lock:
            callbacks = self._accounts[api_id].callbacks
            if url not in callbacks:
                callbacks.append(url)
                self._outboxes[(api_id, url)] = _Outbox()
            return list(callbacks)

    def callbacks(self, api_id: str) -> list[str]:
        with self._lock:
            return list(self._accounts[api_id].callbacks)

    def remove_callback(self, api_id: str, url: str) -> bool:
        """False when `url` was not registered; its undelivered records are dropped with it."""
        with self._lock:
            callbacks = self._accounts[api_id].callbacks
            if url not in callbacks:
                return False
            callbacks.remove(url)
            del self._outboxes[(api_id, url)]
            return True

    # --- status progression and callbacks ---------------------------------------------------------

    def advance(self) -> None:
        """Apply every status transition that is due."""
        with self._lock:
            self._advance_locked(self.clock())

    def post_test_heartbeat(self) -> None:
        """Queue a `test` record for every registered URL, as SMS.ru does when testing a handler."""
        record = heartbeat_record(int(time.time()))
        with self._lock:
            for outbox in self._outboxes.values():
                outbox.pending.append(record)

    def claim_deliveries(self) -> list[PendingDelivery]:
        """Batches due for a POST now; each outbox has at most one POST in flight."""
        now = time.monotonic()
        claimed = []
        with self._lock:
            for (api_id, url), outbox in self._outboxes.items():
                if outbox.busy or outbox.next_attempt > now:
                    continue
                if outbox.batch is None and outbox.pending:
                    outbox.batch = outbox.pending[:CALLBACK_BATCH]
                    del outbox.pending[:CALLBACK_BATCH]
                if outbox.batch is not None:
                    outbox.busy = True
                    values = list(outbox.batch)
                    claimed.append(PendingDelivery(url, values, signature(api_id, values), outbox))
        return claimed

    def finish_delivery(self, delivery: PendingDelivery, result: int | str, done: bool) -> None:
        """Record a POST's outcome; unless `done`, the same batch is retried after the delay."""
        with self._lock:
            if not any(o is delivery.outbox for o in self._outboxes.values()):
                return  # the URL was deleted or the emulator reset meanwhile
            self._deliveries.append(
                CallbackDelivery(delivery.url, delivery.values, delivery.hash, result)
            )
            outbox = delivery.outbox
            outbox.busy = False
            if done:
                outbox.batch = None
            else:
                outbox.next_attempt = time.monotonic() + self.callback_retry_delay

    # --- internals ------------------------------------------------------------------------------

    def _assess_all(
        self,
        account: _Account,
        recipients: Sequence[tuple[str, str]],
        sender: str | None,
        *,
        require_text: bool,
    ) -> list[_Assessment]:
        """One verdict per distinct number: the reply is an object keyed by number."""
        seen: set[str] = set()
        assessed = []
        for raw, text in recipients:
            verdict = self._assess(account, raw, text, sender, require_text=require_text)
            if verdict.key not in seen:
                seen.add(verdict.key)
                assessed.append(verdict)
        return assessed

    def _assess(
        self, account: _Account, raw: str, text: str, sender: str | None, *, require_text: bool
    ) -> _Assessment:
        number = raw.strip()
        digits = number.removeprefix("+")
        valid = _PHONE.fullmatch(digits) is not None
        parts = count(text, ucs2_unit=self.ucs2_unit).parts
        if digits in self._number_errors:
            code = self._number_errors[digits]
        elif valid and (refused := self.refusal(digits)) is not None:
            code = refused
        elif not valid:
            code = 202
        elif require_text and not text:
            code = 203
        elif not account.senders:
            code = 221
        elif sender and sender not in account.senders:
            code = 204
        elif digits in account.stoplist:
            code = 209
        elif parts > MAX_SEGMENTS:
            code = 205
        else:
            code = 100
        cost = parts * price(digits) if code == 100 else Decimal(0)
        return _Assessment(digits if valid else number, text, code, parts, cost)

    def _issue(
        self,
        api_id: str,
        assessed: _Assessment,
        sender: str | None,
        test: bool,
        now: float,
        at: datetime,
    ) -> str:
        iso = at.astimezone(_MSK).isocalendar()
        sms_id = f"{iso.year}{iso.week:02d}-{next(self._ids)}"
        self._sent.append(
            SentMessage(sms_id, api_id, assessed.key, assessed.text, sender, test, at)
        )
        if assessed.code == 100:
            charged = Decimal(0) if test else assessed.cost
            day = at.astimezone(_MSK).date()
            self._messages[sms_id] = _Message(api_id, assessed.key, charged, test, day)
            if not test:
                for due, code in zip(self.delays, (101, 102, None), strict=True):
                    heapq.heappush(self._schedule, (now + due, next(self._seq), sms_id, code))
        return sms_id

    def recipients_at(self, hour: int) -> None:
        """Put the recipients where it is now `hour` o'clock (tests: day or night at will)."""
        now = datetime.now(UTC)
        offset = (hour - now.hour + 12) % 24 - 12
        with self._lock:
            self.recipient_timezone = timezone(timedelta(hours=offset))

    def _night_left(self, at: datetime) -> float:
        """Seconds until the recipient's 10:00 if it is night there (from 20:00; whether the
        small hours count too is unconfirmed, and here they do), else 0: `daytime=1` holds it."""
        local = at.astimezone(self.recipient_timezone)
        if DAY_STARTS <= local.hour < NIGHT_STARTS:
            return 0.0
        morning = local.replace(hour=DAY_STARTS, minute=0, second=0, microsecond=0)
        if local.hour >= NIGHT_STARTS:
            morning += timedelta(days=1)
        return (morning - local).total_seconds()

    def _used_today(self, api_id: str) -> int:
        today = datetime.now(_MSK).date()
        return sum(
            1
            for m in self._messages.values()
            if m.api_id == api_id and not m.test and m.day == today
        )

    def _advance_locked(self, now: float) -> None:
        while self._schedule and self._schedule[0][0] <= now:
            _, _, sms_id, code = heapq.heappop(self._schedule)
            message = self._messages.get(sms_id)
            if message is None:
                continue
            if code is None:
                code = self._finals.get(message.phone) or self.final_status(message.phone)
            message.status = code
            if self.callbacks_enabled:
                record = sms_status_record(sms_id, message.status, int(time.time()))
                for url in self._accounts[message.api_id].callbacks:
                    self._outboxes[(message.api_id, url)].pending.append(record)


def _check_outage(kind: str | None) -> None:
    if kind is not None and kind not in get_args(Outage):
        raise ValueError(f"unknown outage {kind!r}")


def _set_or_clear(table: dict[str, int], key: str, code: int | None) -> None:
    if code is None:
        table.pop(key, None)
    else:
        table[key] = code
