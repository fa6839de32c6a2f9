"""The daily report: what became of one day's messages, per portal, kind and source.

Definitions (every figure means exactly this):

- **day**: the portal's local calendar day (`Portal.timezone`, IANA) of `accepted_at`; a message
  belongs to the day it was accepted, whatever happened to it later. Without a given day each
  portal is reported for its own yesterday.
- **messages**: every message accepted that day. **sent**: accepted by SMS.ru (it has an sms_id;
  states sent, in_transit, delivered, undelivered). **delivered** / **undelivered**: by state.
  **failed**: state failed (refused by SMS.ru at send time, invalid content, or an interrupted
  send). **pending**: queued, sending, sent or in_transit at report time.
- **delivery rate** = delivered / (delivered + undelivered + failed): final outcomes only, so
  messages still pending neither help nor hurt it; none when nothing is final yet.
- **time to delivery** = final_at − sent_at of delivered messages; the median and p90 in seconds
  (to the millisecond) interpolate linearly between ranks (numpy's default).
- **segments** = the sum of `segments`; **cost** = the sum of `cost` as SMS.ru charged it (exact
  Decimal); a message with no cost yet counts 0, and **without cost** counts the sent ones.
- **failures by code**: failed and undelivered messages grouped by SMS.ru's code (send_code when
  failed at send, status_code when undelivered) with the code's meaning; a failure of ours (no
  code) shows "—" with the kind of failure taken from its error text.
- **long messages**: sent messages of two or more segments (only those are paid for); shortening
  each to one segment saves (segments − 1) × the portal's average cost per segment that day
  (its cost / the segments of its messages that have a cost), rounded to kopecks.
- **accounts**: SMS.ru balance and daily limit of each distinct key (the portal's own, else
  SMSRU_API_ID) at report time, or why they are unavailable.

The day's rows are read with one query (the needed columns only, in chunks, over the UTC window
that covers every reported portal's day) into a pandas DataFrame; each row is then kept or dropped
by its portal's own local day, and every figure is a groupby over that frame.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
import numpy as np
import pandas as pd
from sqlalchemy import BigInteger, Engine, Select, and_, case, cast, create_engine, func, select
from sqlalchemy.engine import URL
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import col

from clients.smsru.client import SmsRuClient
from clients.smsru.codes import meaning
from clients.smsru.errors import SmsRuError
from models import Message, Portal
from models.database import sync_url
from models.types import utcnow
from smsbridge.config import Settings
from smsbridge.origin import Kind, Source
from smsbridge.runtime import Runtime
from smsbridge.states import State
from webhook.outbox import INTERRUPTED

ProgressFn = Callable[[int, int], Coroutine[Any, Any, None]]  # (rows read, rows in the window)

CHUNK_ROWS = 25_000  # rows as Python objects in flight at once; larger is no faster
NO_CODE = "—"
PENDING = (State.QUEUED, State.SENDING, State.SENT, State.IN_TRANSIT)
SENT = (State.SENT, State.IN_TRANSIT, State.DELIVERED, State.UNDELIVERED)
# Failures of ours carry no SMS.ru code; their error text (written by intake and the sender)
# says which kind they are.
LOCAL_FAILURES = (
    ("message_to:", "invalid phone number"),
    ("message_body is empty", "empty text"),
    ("text needs", "text longer than 8 SMS"),
    (INTERRUPTED[:24], "send interrupted, outcome unknown"),
    ("gave up:", "SMS.ru unavailable for too long"),
    ("SMS.ru's reply has no result", "no result in SMS.ru's reply"),
)
OTHER_LOCAL_FAILURE = "other failure of ours"
# Time-to-delivery histogram edges, in seconds: SMS mostly arrive within a minute, so the bins
# widen as they go.
HISTOGRAM_EDGES = (0, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 21600)
_COST_SCALE = 10_000  # cost is Numeric(12, 4): read as integer ten-thousandths, summed exactly
_KOPECK = Decimal("0.01")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
ACCOUNT_TIMEOUT = httpx.Timeout(10.0)  # a report should not wait a minute for a balance


class ReportError(Exception):
    """The report cannot be made as asked: an unknown portal, or a portal's unknown time zone."""


# --- what the report is about ----------------------------------------------------------------


@dataclass(frozen=True)
class PortalDay:
    """One portal's reported day, and the UTC instants where it starts and ends."""

    portal_id: int
    member_id: str
    timezone: str
    day: date
    start: datetime
    end: datetime


def parse_day(text: str) -> date:
    """A day given as YYYY-MM-DD; a ValueError that says so for anything else."""
    if _DAY.fullmatch(text.strip()):
        try:
            return date.fromisoformat(text.strip())
        except ValueError:
            pass
    raise ValueError(f"the day must be a date as YYYY-MM-DD, not {text!r}")


def portal_day(portal: Portal, day: date | None, now: datetime) -> PortalDay:
    """The portal's `day`, or its yesterday as of `now`, in its own time zone."""
    assert portal.id is not None
    try:
        zone = ZoneInfo(portal.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ReportError(
            f"portal {portal.member_id} has an unknown time zone {portal.timezone!r}"
        ) from None
    day = day or (now.astimezone(zone).date() - timedelta(days=1))
    start = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    return PortalDay(portal.id, portal.member_id, portal.timezone, day, start, end)


# --- the result ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    messages: int
    sent: int
    delivered: int
    undelivered: int
    failed: int
    pending: int
    delivery_rate: float | None  # of final outcomes; None when none is final
    median_seconds: float | None  # time to delivery; None when nothing was delivered
    p90_seconds: float | None
    segments: int
    cost: Decimal
    without_cost: int  # sent, but SMS.ru has not told us the cost yet


@dataclass(frozen=True)
class Group:
    """Figures of one portal (kind and source None: the portal's total) or one of its sources."""

    member_id: str
    kind: str | None
    source: str | None
    figures: Figures


@dataclass(frozen=True)
class Failure:
    member_id: str
    outcome: str  # failed | undelivered
    code: int | None  # None: a failure of ours
    meaning: str
    messages: int


@dataclass(frozen=True)
class LongMessages:
    member_id: str | None  # None: all portals
    messages: int
    segments: int
    extra_segments: int  # what shortening each to one segment would not send
    saving: Decimal | None  # None when no cost is known that day to price a segment


@dataclass(frozen=True)
class Bin:
    label: str
    messages: int


@dataclass(frozen=True)
class Account:
    """One SMS.ru key's balance and daily limit at report time, or why they are missing."""

    member_ids: tuple[str, ...]  # the reported portals that send with this key
    shared: bool  # SMSRU_API_ID, not a portal's own key
    balance: Decimal | None
    daily_limit: int | None
    used_today: int | None
    problem: str | None

    @property
    def label(self) -> str:
        return "SMSRU_API_ID" if self.shared else f"own key of {', '.join(self.member_ids)}"


@dataclass(frozen=True)
class DailyReport:
    day: date
    generated_at: datetime
    portals: tuple[PortalDay, ...]
    total: Figures
    by_portal: tuple[Group, ...]
    by_source: tuple[Group, ...]
    failures: tuple[Failure, ...]
    long_messages: tuple[LongMessages, ...]  # per portal, then the total (member_id None)
    delivery_histogram: tuple[Bin, ...]
    accounts: tuple[Account, ...]


# --- loading -------------------------------------------------------------------------------
#
# Every selected value is an integer: strings come as their position in the enums, NULL as
# ABSENT, timestamps as epoch microseconds. A chunk of such rows becomes one int64 array at C
# speed, and the driver makes no string objects (the bulk of reading time otherwise).

ABSENT = -1_000_000  # NULL; no code, cost, count or duration is this
COLUMNS = (
    "portal_id",
    "kind",
    "source",
    "state",
    "segments",
    "cost_e4",
    "code",
    "local_failure",
    "accepted_us",
    "delivery_us",
)


class EpochMicroseconds(FunctionElement[int]):
    """A timestamp column as integer microseconds since the epoch: exact, and cheap to read."""

    type = BigInteger()
    inherit_cache = True


@compiles(EpochMicroseconds, "postgresql")
def _epoch_us_postgresql(element: EpochMicroseconds, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"CAST(EXTRACT(EPOCH FROM {column}) * 1000000 AS BIGINT)"


@compiles(EpochMicroseconds, "sqlite")
def _epoch_us_sqlite(element: EpochMicroseconds, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLAlchemy stores "YYYY-MM-DD HH:MM:SS.ffffff" (UTC, see models.types). SQLite's own date
    # functions round to milliseconds, so they get the whole seconds and the digits are added.
    column = compiler.process(element.clauses, **kw)
    return (
        f"(CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER) * 1000000"
        f" + CAST(substr({column}, 21, 6) AS INTEGER))"
    )


def _position(column: Any, values: Sequence[str]) -> Any:
    return case({value: n for n, value in enumerate(values)}, value=column, else_=-1)


def window_query(days: Sequence[PortalDay], one_portal: bool = False) -> Select[Any]:
    """The report's one query: `COLUMNS` of the messages accepted in the UTC window that covers
    every portal's day (each row is kept or dropped by its own portal's day afterwards)."""
    state, accepted_at = col(Message.state), col(Message.accepted_at)
    failed, undelivered = state == State.FAILED, state == State.UNDELIVERED
    send_code, error = col(Message.send_code), col(Message.error)
    local_failure = case(
        *(
            (func.substr(error, 1, len(prefix)) == prefix, n)
            for n, (prefix, _) in enumerate(LOCAL_FAILURES)
        ),
        else_=len(LOCAL_FAILURES),
    )
    delivery = EpochMicroseconds(col(Message.final_at)) - EpochMicroseconds(col(Message.sent_at))
    statement = select(
        col(Message.portal_id),
        _position(col(Message.kind), list(Kind)),
        _position(col(Message.source), list(Source)),
        _position(state, list(State)),
        col(Message.segments),
        func.coalesce(cast(func.round(col(Message.cost) * _COST_SCALE), BigInteger), ABSENT),
        func.coalesce(case((failed, send_code), (undelivered, col(Message.status_code))), ABSENT),
        case((and_(failed, send_code.is_(None)), local_failure), else_=ABSENT),
        EpochMicroseconds(accepted_at),
        func.coalesce(case((state == State.DELIVERED, delivery)), ABSENT),
    ).where(accepted_at >= min(d.start for d in days), accepted_at < max(d.end for d in days))
    if one_portal:
        # `+ 0` keeps the planner on the accepted_at index: SQLite without ANALYZE statistics
        # would rather walk the portal_id index, through the portal's whole history.
        statement = statement.where(col(Message.portal_id) + 0 == days[0].portal_id)
    return statement


def _read_engine(url: URL) -> Engine:
    """An engine for a long read: on SQLite the service's engines start every transaction with
    BEGIN IMMEDIATE (the write lock), which would hold up intake for the whole read; a plain
    read in WAL mode does not."""
    target = sync_url(url)
    if target.get_backend_name() == "sqlite":
        return create_engine(target, poolclass=NullPool, connect_args={"timeout": 30})
    return create_engine(target, poolclass=NullPool)


def _frame(values: np.ndarray) -> pd.DataFrame:
    """An int64 array of `COLUMNS` → the frame the figures are computed from."""
    column = dict(zip(COLUMNS, values.T, strict=True))
    cost = column["cost_e4"]
    return pd.DataFrame(
        {
            "portal_id": column["portal_id"].astype(np.int32),
            "kind": pd.Categorical.from_codes(column["kind"], categories=list(Kind)),
            "source": pd.Categorical.from_codes(column["source"], categories=list(Source)),
            "state": pd.Categorical.from_codes(column["state"], categories=list(State)),
            "segments": column["segments"].astype(np.int16),
            "cost_e4": np.where(cost == ABSENT, 0, cost),
            "has_cost": cost != ABSENT,
            "code": column["code"].astype(np.int32),
            "local_failure": column["local_failure"].astype(np.int8),
            "accepted_us": column["accepted_us"],
            "delivery_us": column["delivery_us"],
        }
    )


def empty_frame() -> pd.DataFrame:
    return _frame(np.empty((0, len(COLUMNS)), dtype=np.int64))


def read_messages(
    url: URL,
    days: Sequence[PortalDay],
    *,
    one_portal: bool = False,
    progress: Callable[[int, int], None] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> pd.DataFrame:
    """`window_query`'s rows as a frame, `chunk_rows` at a time (memory stays near the frame's
    own size: ~40 bytes a message). Blocking: `load_messages` runs it in a thread."""
    if not days:
        return empty_frame()
    statement = window_query(days, one_portal)
    engine = _read_engine(url)
    chunks, done = [], 0
    try:
        with engine.connect() as connection:
            counting = statement.with_only_columns(func.count(), maintain_column_froms=True)
            total = connection.execute(counting).scalar_one()
            result = connection.execution_options(yield_per=chunk_rows).execute(statement)
            for rows in result.partitions():
                chunks.append(_frame(np.array([tuple(row) for row in rows], dtype=np.int64)))
                done += len(rows)
                if progress is not None:
                    progress(done, total)
    finally:
        engine.dispose()
    return pd.concat(chunks, ignore_index=True) if chunks else empty_frame()


async def load_messages(
    url: URL,
    days: Sequence[PortalDay],
    *,
    one_portal: bool = False,
    progress: ProgressFn | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> pd.DataFrame:
    """`read_messages` in a worker thread, so the event loop stays free; `progress` is awaited
    on the loop after each chunk."""
    loop = asyncio.get_running_loop()

    def tell(done: int, total: int) -> None:
        if progress is not None:
            asyncio.run_coroutine_threadsafe(progress(done, total), loop).result()

    return await asyncio.to_thread(
        read_messages, url, days, one_portal=one_portal, progress=tell, chunk_rows=chunk_rows
    )


# --- computing -----------------------------------------------------------------------------


def _in_days(frame: pd.DataFrame, days: Sequence[PortalDay]) -> pd.DataFrame:
    """The rows accepted within their own portal's day (the window read is wider)."""
    starts = {d.portal_id: _us(d.start) for d in days}
    ends = {d.portal_id: _us(d.end) for d in days}
    portal = frame["portal_id"]
    accepted = frame["accepted_us"]
    keep = ((accepted >= portal.map(starts)) & (accepted < portal.map(ends))).to_numpy()
    return frame if keep.all() else frame[keep]


def _us(instant: datetime) -> int:
    return (instant - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _aggregate(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Every figure's raw material per group of `keys` (none: one group of everything): counts
    by state, sums, quantiles. Groups by the columns themselves: no copy of the frame."""
    by = [frame[k] for k in keys] or [pd.Series(0, index=frame.index, dtype=np.int8)]
    state = frame["state"]
    states = (
        state.groupby([*by, state], observed=True)
        .size()
        .unstack(-1, fill_value=0)
        .reindex(columns=list(State), fill_value=0)
    )
    values = pd.DataFrame(
        {
            "segments": frame["segments"],
            "cost_e4": frame["cost_e4"],
            "without_cost": state.isin(SENT) & ~frame["has_cost"],
        }
    )
    sums = values.groupby(by, observed=True).agg(
        messages=("segments", "size"),
        segments=("segments", "sum"),
        cost_e4=("cost_e4", "sum"),
        without_cost=("without_cost", "sum"),
    )
    timed = _timed(frame)
    quantiles = (
        frame.loc[timed, "delivery_us"]
        .groupby([b[timed] for b in by], observed=True)
        .quantile([0.5, 0.9])
        .unstack()
        .rename(columns={0.5: "median_us", 0.9: "p90_us"})
    )
    table = sums.join(states).join(quantiles)
    return table.reindex(columns=[*sums.columns, *State, "median_us", "p90_us"])


def _timed(frame: pd.DataFrame) -> np.ndarray:
    """Delivered messages with both timestamps: the ones a time to delivery is known for."""
    return ((frame["state"] == State.DELIVERED) & (frame["delivery_us"] != ABSENT)).to_numpy()


def _figures(row: pd.Series | None) -> Figures:
    if row is None:
        return Figures(0, 0, 0, 0, 0, 0, None, None, None, 0, Decimal(0), 0)
    count = {state: int(row[state]) for state in State}
    delivered, undelivered, failed = (
        count[State.DELIVERED],
        count[State.UNDELIVERED],
        count[State.FAILED],
    )
    final = delivered + undelivered + failed
    return Figures(
        messages=int(row["messages"]),
        sent=sum(count[s] for s in SENT),
        delivered=delivered,
        undelivered=undelivered,
        failed=failed,
        pending=sum(count[s] for s in PENDING),
        delivery_rate=delivered / final if final else None,
        median_seconds=_seconds(row["median_us"]),
        p90_seconds=_seconds(row["p90_us"]),
        segments=int(row["segments"]),
        cost=Decimal(int(row["cost_e4"])) / _COST_SCALE,
        without_cost=int(row["without_cost"]),
    )


def _seconds(microseconds: float) -> float | None:
    """Seconds to the millisecond: interpolating between ranks leaves float dust below that."""
    return None if pd.isna(microseconds) else round(float(microseconds) / 1000) / 1000


def _failures(frame: pd.DataFrame, members: dict[int, str]) -> tuple[Failure, ...]:
    """Per portal (in report order), the most frequent first, then by code (ours first)."""
    bad = frame.loc[
        frame["state"].isin((State.FAILED, State.UNDELIVERED)),
        ["portal_id", "state", "code", "local_failure"],
    ]
    counted = bad.groupby(["portal_id", "state", "code", "local_failure"], observed=True).size()
    labels = [label for _, label in LOCAL_FAILURES] + [OTHER_LOCAL_FAILURE]
    position = {portal_id: n for n, portal_id in enumerate(members)}
    ordered = sorted(counted.items(), key=lambda item: (position[item[0][0]], -item[1], item[0][2]))
    return tuple(
        Failure(
            member_id=members[int(portal_id)],
            outcome=str(state),
            code=None if code == ABSENT else int(code),
            meaning=labels[int(local)] if code == ABSENT else meaning(int(code)),
            messages=int(n),
        )
        for (portal_id, state, code, local), n in ordered
    )


def _long_messages(frame: pd.DataFrame, days: Sequence[PortalDay]) -> tuple[LongMessages, ...]:
    paid = frame.loc[frame["has_cost"], ["portal_id", "cost_e4", "segments"]]
    costed = paid.groupby("portal_id")[["cost_e4", "segments"]].sum()
    is_long = frame["state"].isin(SENT) & (frame["segments"] >= 2)
    long = frame.loc[is_long, ["portal_id", "segments"]]
    per_portal = long.groupby("portal_id")["segments"].agg(["size", "sum"])
    rows = []
    for day in days:
        messages, segments = (
            (int(per_portal.at[day.portal_id, "size"]), int(per_portal.at[day.portal_id, "sum"]))
            if day.portal_id in per_portal.index
            else (0, 0)
        )
        extra = segments - messages
        saving = None
        if day.portal_id in costed.index and costed.at[day.portal_id, "segments"] > 0:
            cost_e4, paid_segments = costed.loc[day.portal_id]
            saving = (
                Decimal(extra) * Decimal(int(cost_e4)) / (int(paid_segments) * _COST_SCALE)
            ).quantize(_KOPECK, ROUND_HALF_UP)
        rows.append(LongMessages(day.member_id, messages, segments, extra, saving))
    savings = [r.saving for r in rows if r.saving is not None]
    total = LongMessages(
        None,
        sum(r.messages for r in rows),
        sum(r.segments for r in rows),
        sum(r.extra_segments for r in rows),
        sum(savings, Decimal("0.00")) if savings else None,
    )
    return (*rows, total)


def _histogram(frame: pd.DataFrame) -> tuple[Bin, ...]:
    seconds = frame["delivery_us"].to_numpy()[_timed(frame)] / 1e6
    counts, _ = np.histogram(np.clip(seconds, 0, None), bins=[*HISTOGRAM_EDGES, np.inf])
    labels = [_span(lo, hi) for lo, hi in pairwise(HISTOGRAM_EDGES)]
    labels.append(f"≥ {_duration(HISTOGRAM_EDGES[-1])}")
    return tuple(Bin(label, int(n)) for label, n in zip(labels, counts, strict=True))


def _span(low: float, high: float) -> str:
    """A bin's label: 10–30 s, or 30 s–1 min when the units differ."""
    start, end = _duration(low), _duration(high)
    value, unit = start.split(" ")
    return f"{value}–{end}" if end.endswith(f" {unit}") else f"{start}–{end}"


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    if seconds >= 60:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def compute(
    frame: pd.DataFrame,
    days: Sequence[PortalDay],
    accounts: Sequence[Account] = (),
    generated_at: datetime | None = None,
) -> DailyReport:
    """The report over `frame` (as `load_messages` returns it) for the portals' `days`."""
    if len({d.day for d in days}) != 1:
        raise ValueError("a report covers one date: give the portals that are on it")
    members = {d.portal_id: d.member_id for d in days}
    frame = _in_days(frame, days)
    keys = ["portal_id", "kind", "source"]
    fine = _aggregate(frame, keys)
    portals = _aggregate(frame, ["portal_id"])
    overall = _aggregate(frame, [])
    by_source = tuple(
        Group(members[int(pid)], str(kind), str(source), _figures(row))
        for (pid, kind, source), row in fine.iterrows()
    )
    by_portal = tuple(
        Group(
            d.member_id,
            None,
            None,
            _figures(portals.loc[d.portal_id] if d.portal_id in portals.index else None),
        )
        for d in days
    )
    return DailyReport(
        day=days[0].day,
        generated_at=generated_at or utcnow(),
        portals=tuple(days),
        total=_figures(overall.iloc[0] if len(overall) else None),
        by_portal=by_portal,
        by_source=by_source,
        failures=_failures(frame, members),
        long_messages=_long_messages(frame, days),
        delivery_histogram=_histogram(frame),
        accounts=tuple(accounts),
    )


# --- SMS.ru accounts -----------------------------------------------------------------------


async def accounts(
    http: httpx.AsyncClient, settings: Settings, portals: Sequence[Portal]
) -> list[Account]:
    """Balance and daily limit per distinct SMS.ru key of `portals`, asked now (all at once)."""
    by_key: dict[str | None, list[str]] = {}
    for portal in portals:
        by_key.setdefault(portal.smsru_api_id or settings.smsru_key, []).append(portal.member_id)
    return list(
        await asyncio.gather(
            *(_account(http, settings, key, tuple(ids)) for key, ids in by_key.items())
        )
    )


async def _account(
    http: httpx.AsyncClient, settings: Settings, key: str | None, member_ids: tuple[str, ...]
) -> Account:
    if key is None:
        return Account(member_ids, True, None, None, None, "no SMS.ru key")
    shared = key == settings.smsru_key
    client = SmsRuClient(key, base_url=settings.smsru_base, http=http, timeout=ACCOUNT_TIMEOUT)
    try:
        balance, limit = await client.balance(), await client.limit()
    except SmsRuError as exc:
        return Account(member_ids, shared, None, None, None, f"unavailable: {exc}")
    return Account(member_ids, shared, balance, limit.total_limit, limit.used_today, None)


# --- the whole report, as the flow and the command make it ---------------------------------


async def daily_reports(
    rt: Runtime,
    day: date | None = None,
    member_id: str | None = None,
    *,
    now: datetime | None = None,
    progress: ProgressFn | None = None,
) -> list[DailyReport]:
    """One report per reported date (without `day`, portals far apart may be on different
    yesterdays), over every portal or just `member_id`'s."""
    now = now or utcnow()
    async with rt.sessions() as session:
        statement = select(Portal).order_by(col(Portal.id))
        if member_id is not None:
            statement = statement.where(col(Portal.member_id) == member_id)
        portals = list((await session.execute(statement)).scalars())
    if member_id is not None and not portals:
        raise ReportError(f"no portal {member_id} is stored")
    days = [portal_day(p, day, now) for p in portals]
    frame = await load_messages(
        rt.settings.database, days, one_portal=member_id is not None, progress=progress
    )
    balances = await accounts(rt.http, rt.settings, portals)
    reports = []
    for date_ in sorted({d.day for d in days}):
        on_date = [d for d in days if d.day == date_]
        ids = {d.member_id for d in on_date}
        mine = [a for a in balances if ids & set(a.member_ids)]
        reports.append(compute(frame, on_date, mine, now))
    return reports


# --- presenting ----------------------------------------------------------------------------


def money(amount: Decimal | None) -> str:
    """Roubles with at least two decimals and no trailing zeros past them (SMS.ru prices go to
    hundredths, sums of Numeric(12, 4) to ten-thousandths)."""
    if amount is None:
        return "—"
    whole, _, fraction = f"{amount.quantize(Decimal('0.0001')):,f}".partition(".")
    return f"{whole}.{fraction.rstrip('0').ljust(2, '0')} ₽"


def number(value: int) -> str:
    return f"{value:,}"


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{100 * rate:.1f} %"


def seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:g} s"


def account_text(account: Account) -> str:
    if account.problem:
        return account.problem
    limit = "no daily limit" if account.daily_limit is None else f"limit {account.daily_limit:,}"
    used = "?" if account.used_today is None else number(account.used_today)
    return f"balance {money(account.balance)}, {limit}, used today {used}"


def headline(report: DailyReport) -> list[tuple[str, str]]:
    """The report's main figures as (label, value): the artifact, the command and the page."""
    t = report.total
    long = report.long_messages[-1]
    zones = sorted({p.timezone for p in report.portals})
    rows = [
        ("Day", f"{report.day.isoformat()} ({', '.join(zones) or 'no portals'})"),
        ("Portals", str(len(report.portals))),
        ("Messages", number(t.messages)),
        ("Sent (accepted by SMS.ru)", number(t.sent)),
        ("Delivered", number(t.delivered)),
        ("Undelivered", number(t.undelivered)),
        ("Failed", number(t.failed)),
        ("Pending", number(t.pending)),
        ("Delivery rate (of final outcomes)", percent(t.delivery_rate)),
        (
            "Time to delivery",
            f"median {seconds(t.median_seconds)}, p90 {seconds(t.p90_seconds)}",
        ),
        ("Segments", number(t.segments)),
        ("Cost", f"{money(t.cost)} ({number(t.without_cost)} sent without a cost yet)"),
        (
            "Long messages (2+ segments)",
            f"{number(long.messages)} messages, {number(long.segments)} segments; one segment "
            f"each saves {number(long.extra_segments)} segments ≈ {money(long.saving)}",
        ),
    ]
    rows += [(f"SMS.ru {a.label}", account_text(a)) for a in report.accounts]
    return rows
