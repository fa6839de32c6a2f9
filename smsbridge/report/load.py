"""Reading a report's messages: one query over a UTC window, in chunks, into a pandas frame.

Every selected value is an integer: strings come as their position in the enums, NULL as
ABSENT, timestamps as epoch microseconds. A chunk of such rows becomes one int64 array at C
speed, and the driver makes no string objects (the bulk of reading time otherwise).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import BigInteger, Engine, Select, case, cast, create_engine, func, select
from sqlalchemy.engine import URL
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import col

from models import Message
from models.database import sync_url
from smsbridge.progress import ProgressCallback
from smsbridge.report.days import PortalDay
from smsbridge.report.templates import TemplateCollector
from smsbridge.rules.origin import Kind, Source
from smsbridge.status.failures import Failure
from smsbridge.status.states import State

CHUNK_ROWS = 25_000  # rows as Python objects in flight at once; larger is no faster
COST_SCALE = 10_000  # cost is Numeric(12, 4): read as integer ten-thousandths, summed exactly

ABSENT = -1_000_000  # NULL; no code, cost, count or duration is this
NOT_OURS = -1  # the `failure` of a row that is no failure of ours (an int8 column)
COLUMNS = (
    "portal_id",
    "kind",
    "source",
    "state",
    "segments",
    "cost_e4",
    "code",
    "failure",
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


def _position(column: Any, values: Sequence[str], other: int = -1) -> Any:
    return case({value: n for n, value in enumerate(values)}, value=column, else_=other)


def window_query(days: Sequence[PortalDay], one_portal: bool = False) -> Select[Any]:
    """The report's one query: `COLUMNS` of the messages accepted in the UTC window that covers
    every portal's day (each row is kept or dropped by its own portal's day afterwards)."""
    state, accepted_at = col(Message.state), col(Message.accepted_at)
    failed, undelivered = state == State.FAILED, state == State.UNDELIVERED
    send_code = col(Message.send_code)
    # A failed message's kind (the label of one of ours, without an SMS.ru code; the refusal of
    # one SMS.ru refused for a policy reason); a kind unknown or missing counts last.
    failure = _position(col(Message.failure), list(Failure), other=len(Failure))
    delivery = EpochMicroseconds(col(Message.final_at)) - EpochMicroseconds(col(Message.sent_at))
    statement = select(
        col(Message.portal_id),
        _position(col(Message.kind), list(Kind)),
        _position(col(Message.source), list(Source)),
        _position(state, list(State)),
        col(Message.segments),
        func.coalesce(cast(func.round(col(Message.cost) * COST_SCALE), BigInteger), ABSENT),
        func.coalesce(case((failed, send_code), (undelivered, col(Message.status_code))), ABSENT),
        case((failed, failure), else_=NOT_OURS),
        EpochMicroseconds(accepted_at),
        func.coalesce(case((state == State.DELIVERED, delivery)), ABSENT),
    ).where(accepted_at >= min(d.start for d in days), accepted_at < max(d.end for d in days))
    if one_portal:
        # `+ 0` keeps the planner on the accepted_at index: SQLite without ANALYZE statistics
        # would rather walk the portal_id index, through the portal's whole history.
        statement = statement.where(col(Message.portal_id) + 0 == days[0].portal_id)
    return statement


def read_engine(url: URL) -> Engine:
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
            "failure": column["failure"].astype(np.int8),
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
    templates: bool = False,
) -> pd.DataFrame:
    """`window_query`'s rows as a frame, `chunk_rows` at a time (memory stays near the frame's
    own size: ~40 bytes a message). With `templates`, the texts are read too and the frame gains
    a `template` column (`report.templates`); no chunk's texts outlive it. Blocking:
    `load_messages` runs it in a thread."""
    if not days:
        return empty_frame()
    statement = window_query(days, one_portal)
    collector = TemplateCollector() if templates else None
    if collector is not None:
        statement = statement.add_columns(col(Message.text))
    engine = read_engine(url)
    chunks, shapes, done = [], [], 0
    try:
        with engine.connect() as connection:
            counting = statement.with_only_columns(func.count(), maintain_column_froms=True)
            total = connection.execute(counting).scalar_one()
            result = connection.execution_options(yield_per=chunk_rows).execute(statement)
            for rows in result.partitions():
                if collector is None:
                    values = np.array([tuple(row) for row in rows], dtype=np.int64)
                else:  # the text last: columns apart, in C
                    *columns, texts = zip(*rows, strict=True)
                    shapes.append(collector.add(texts))
                    values = np.array(columns, dtype=np.int64).T
                chunks.append(_frame(values))
                done += len(rows)
                if progress is not None:
                    progress(done, total)
    finally:
        engine.dispose()
    frame = pd.concat(chunks, ignore_index=True) if chunks else empty_frame()
    if collector is not None:
        numbers = np.concatenate(shapes) if shapes else np.empty(0, dtype=np.int32)
        frame["template"] = collector.templates(numbers)
    return frame


async def load_messages(
    url: URL,
    days: Sequence[PortalDay],
    *,
    one_portal: bool = False,
    progress: ProgressCallback | None = None,  # rows read, of the rows in the window
    chunk_rows: int = CHUNK_ROWS,
    templates: bool = False,
) -> pd.DataFrame:
    """`read_messages` in a worker thread, so the event loop stays free; `progress` is awaited
    on the loop after each chunk."""
    loop = asyncio.get_running_loop()

    def tell(done: int, total: int) -> None:
        if progress is not None:
            asyncio.run_coroutine_threadsafe(progress(done, total), loop).result()

    return await asyncio.to_thread(
        read_messages,
        url,
        days,
        one_portal=one_portal,
        progress=tell,
        chunk_rows=chunk_rows,
        templates=templates,
    )
