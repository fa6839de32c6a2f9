"""Daily report over N synthetic messages (default 1,000,000): its time and peak memory.

N messages of two portals (Europe/Moscow and Asia/Vladivostok) are bulk-inserted into a
temporary SQLite database (or `--database-url`, e.g. PostgreSQL), in the order they were accepted
as intake inserts them: 95 % on the reported day in their portal's zone, the rest in the hours
around it, with realistic states, codes, segments and costs. Each round then measures, each in a
fresh process so that its peak memory (`ru_maxrss`) is its own:

- the baseline: the same SQL query's rows fetched through the raw DB-API cursor, nothing else;
- the report: load (the chunked read into pandas, and beside it the query of the costliest
  texts) + compute (every figure) + the HTML page, without and with the texts grouped into
  templates (`report.templates`; the daily report groups them).

The ratio report / baseline is the cost of pandas and rendering over just reading the data. The
texts are personalised as robots write them (names, order numbers, amounts, dates, links, codes):
nearly every one is distinct, and they come from six templates. The
SMS.ru balance lookup (one HTTP round trip per key) is not part of the timing. The report's
figures are checked against the counts the generator knows.

Run: `.venv/bin/python -m bench.daily_report [N] [--rounds R] [--database-url URL [--reset]]`.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from sqlalchemy import Engine, Select, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from models import Portal
from models.database import make_sync_engine, sync_url
from models.migrate import upgrade
from smsbridge.report import html as report_html
from smsbridge.report.daily import read_days
from smsbridge.report.days import PortalDay, portal_day
from smsbridge.report.figures import compute
from smsbridge.report.load import window_query
from smsbridge.report.model import DailyReport
from smsbridge.status.failures import Failure
from webhook.outbox import INTERRUPTED

DAY = date(2026, 3, 10)
PORTALS = (("bench-moscow", "Europe/Moscow", 0.7), ("bench-vladivostok", "Asia/Vladivostok", 0.3))
STATES = ("delivered", "undelivered", "failed", "sent", "in_transit", "queued", "sending")
STATE_SHARES = (0.85, 0.04, 0.03, 0.03, 0.02, 0.02, 0.01)
SOURCES = (("card", 0.45), ("robot", 0.35), ("campaign", 0.18), ("other", 0.02))
SEND_CODES = (202, 207, 209, 215, 230)
STATUS_CODES = (104, 105, 106, 107, 108, 150)
LOCAL_FAILURES = (  # (error, failure) as intake and the sender write them
    ("message_to: not a phone number", Failure.INVALID_NUMBER),
    (INTERRUPTED, Failure.INTERRUPTED),
    ("the text is empty", Failure.EMPTY_TEXT),
)
NAMES = ("Анна", "Борис", "Вера", "Глеб", "Дарья", "Егор", "Жанна", "Илья", "Ксения", "Лев")
TEXTS = {  # UCS-2: 70 characters in one SMS, 67 a part after that; two templates of each length
    1: (
        "Ваш код подтверждения: {code:06d}",
        "{name}, заказ №{order} принят",
    ),
    2: (
        "{name}, ваш заказ №{order} на {amount} руб. будет доставлен {day:02d}.03 с 10 до 14 ч.",
        "Счёт по заказу №{order} на {amount} ₽ ждёт оплаты: https://pay.shop.ru/i/{link:08X}",
    ),
    3: (
        "Здравствуйте, {name}! Напоминаем: запись к врачу {day} марта в 9:30, кабинет {room}. "
        "Возьмите паспорт и полис ОМС. Если не сможете прийти, ответьте на это SMS.",
        "{name}, спасибо за покупку! Заказ №{order} на {amount} руб. оплачен и передан в доставку."
        " Отследить: https://track.shop.ru/{link:08X}. Код получения {code:06d}.",
    ),
}


def text_for(n: int, segments: int) -> str:
    """The n-th message's text: one of the two templates of its length, filled in."""
    template = TEXTS[segments][n % 2]
    return template.format(
        code=n * 7919 % 1_000_000,
        name=NAMES[n // 2 % len(NAMES)],
        order=10_000 + n,
        amount=n * 37 % 90_000 + 490,
        day=n % 28 + 1,
        link=n * 2_654_435_761 % 16**8,
        room=n % 300 + 1,
    )


PRICE_E4 = 35_200  # 3.52 ₽ a segment, in ten-thousandths
COLUMNS = (
    "portal_id",
    "message_id",
    "provider_code",
    "kind",
    "source",
    "recipient",
    "recipient_raw",
    "text",
    "encoding",
    "segments",
    "state",
    "sms_id",
    "send_code",
    "status_code",
    "error",
    "failure",
    "cost",
    "attempts",
    "next_attempt_at",
    "accepted_at",
    "sent_at",
    "final_at",
    "push_pending",
    "push_attempts",
    "flag_pending",
    "polls",
    "updated_at",
)
CHUNK = 100_000


@dataclass
class Expected:
    """What the generator put on the reported day, to check the report against."""

    messages: int = 0
    delivered: int = 0
    failed: int = 0
    segments: int = 0
    texts: int = len(TEXTS) * len(PORTALS)  # every text is sent in each portal


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("n", type=int, nargs="?", default=1_000_000, help="messages to generate")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--reset", action="store_true", help="empty the given database first")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-daily-report-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    upgrade(url)
    prepare(url, args.reset)
    spawn = get_context("spawn")
    started = time.perf_counter()
    # Each step runs in a fresh process: a child's ru_maxrss starts from its parent's size (the
    # memory is copied before exec), so the parent stays small and every peak is the step's own.
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        expected = pool.submit(generate, url, args.n).result()
    backend = make_url(url).get_backend_name()
    print(f"{args.n:,} messages generated in {time.perf_counter() - started:.1f} s ({backend})")
    print(f"reported day {DAY}: {expected.messages:,} messages within the portals' own days")

    fetches: list[dict[str, Any]] = []
    reports: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
    for number in range(1, args.rounds + 1):
        with ProcessPoolExecutor(1, mp_context=spawn) as pool:
            fetch = pool.submit(measure_fetch, url).result()
        fetches.append(fetch)
        line = (
            f"round {number}: baseline fetch {fetch['seconds']:.2f} s ({fetch['rows']:,} rows, "
            f"peak {fetch['peak_mb']:.0f} MB)"
        )
        for templates in (False, True):
            with ProcessPoolExecutor(1, mp_context=spawn) as pool:
                report = pool.submit(measure_report, url, str(workdir), templates).result()
            check(report, expected)
            reports[templates].append(report)
            line += (
                f" | {'with' if templates else 'without'} templates {report['seconds']:.2f} s"
                f" = load {report['load']:.2f} + compute {report['compute']:.2f} + html "
                f"{report['html']:.2f} (CPU {report['cpu']:.2f} s, peak {report['peak_mb']:.0f} MB,"
                f" {report['templates']} templates),"
                f" ratio {report['seconds'] / fetch['seconds']:.2f}"
            )
        print(line)
    fetch_s = statistics.median(f["seconds"] for f in fetches)
    for templates, measured in reports.items():
        report_s = statistics.median(r["seconds"] for r in measured)
        print(
            f"median {'with' if templates else 'without'} templates: report {report_s:.2f} s for"
            f" {args.n:,} messages ({args.n / report_s:,.0f} messages/s), baseline fetch"
            f" {fetch_s:.2f} s, ratio {report_s / fetch_s:.2f}; CPU"
            f" {statistics.median(r['cpu'] for r in measured):.2f} s; peak memory"
            f" {max(r['peak_mb'] for r in measured):.0f} MB"
        )
    print(f"HTML: {reports[True][-1]['path']}")


def prepare(url: str, reset: bool) -> None:
    """The bench's portals in an empty database; a non-empty one only with --reset."""
    engine = make_sync_engine(url)
    with engine.begin() as connection:
        stored = connection.execute(text("SELECT count(*) FROM portals")).scalar_one()
        if stored and not reset:
            sys.exit("the database is not empty; use an empty one, or --reset to empty it")
        for table in ("status_log", "messages", "stop_list", "checkpoints", "portals"):
            connection.execute(text(f"DELETE FROM {table}"))
        for number, (member_id, zone, _) in enumerate(PORTALS, start=1):
            connection.execute(
                text(
                    "INSERT INTO portals (id, member_id, domain, client_endpoint, timezone, "
                    "rate_per_second, rate_burst, created_at, updated_at) VALUES "
                    "(:id, :member, '', '', :zone, 2, 50, :now, :now)"
                ),
                {"id": number, "member": member_id, "zone": zone, "now": datetime.now(UTC)},
            )
    engine.dispose()


def bench_days() -> list[PortalDay]:
    now = datetime.now(UTC)
    return [
        portal_day(Portal(id=n, member_id=member_id, timezone=zone), DAY, now)
        for n, (member_id, zone, _) in enumerate(PORTALS, start=1)
    ]


# --- generating ----------------------------------------------------------------------------


def generate(url: str, n: int) -> Expected:
    """N messages, inserted in the order they were accepted, as intake inserts them (so the
    accepted_at index follows the table, as it does in production)."""
    rng = np.random.default_rng(20260310)
    days = bench_days()
    portal = rng.choice(len(PORTALS), size=n, p=[p[2] for p in PORTALS])
    inside = rng.random(n) < 0.95
    around = rng.integers(1, 6 * 3_600_000_000, n)  # up to 6 h before or after the day
    offset = np.where(
        inside,
        rng.integers(0, 86_400_000_000, n),  # within the portal's day (no DST in these zones)
        np.where(rng.random(n) < 0.5, -around, 86_400_000_000 + around),
    )
    accepted = np.array([_epoch_us(d.start) for d in days])[portal] + offset
    order = np.argsort(accepted, kind="stable")
    portal, inside, accepted = portal[order], inside[order], accepted[order]
    expected = Expected()
    chunks = (
        _chunk(
            start,
            portal[start : start + CHUNK],
            inside[start : start + CHUNK],
            accepted[start : start + CHUNK],
            expected,
        )
        for start in range(0, n, CHUNK)
    )
    if make_url(url).get_backend_name() == "sqlite":
        _insert_sqlite(url, chunks)
    else:
        _copy_postgresql(url, chunks)
    return expected


def _chunk(
    start: int, portal: np.ndarray, inside: np.ndarray, accepted: np.ndarray, expected: Expected
) -> list[tuple[Any, ...]]:
    size = len(portal)
    rng = np.random.default_rng(start)
    source = rng.choice([s for s, _ in SOURCES], size=size, p=[p for _, p in SOURCES])
    state = rng.choice(STATES, size=size, p=STATE_SHARES)
    segments = rng.choice([1, 2, 3], size=size, p=[0.8, 0.15, 0.05])
    sent = np.isin(state, ("sent", "in_transit", "delivered", "undelivered"))
    final = np.isin(state, ("delivered", "undelivered"))
    sent_at = accepted + rng.integers(500_000, 5_000_000, size)
    final_at = sent_at + (rng.lognormal(np.log(8.0), 1.0, size) * 1e6).astype(np.int64)
    coded_failure = (state == "failed") & (rng.random(size) < 0.7)
    has_cost = (sent & (state != "sent")) & (rng.random(size) < 0.95)

    expected.messages += int(inside.sum())
    expected.delivered += int((inside & (state == "delivered")).sum())
    expected.failed += int((inside & (state == "failed")).sum())
    expected.segments += int(segments[inside].sum())

    send_codes = rng.choice(SEND_CODES, size=size)
    status_codes = rng.choice(STATUS_CODES, size=size)
    local_failures = rng.choice(len(LOCAL_FAILURES), size=size)
    accepted_text, sent_text, final_text = (
        _timestamps(accepted),
        _timestamps(sent_at),
        _timestamps(final_at),
    )
    rows = []
    for i in range(size):
        s = str(state[i])
        segs = int(segments[i])
        if s == "failed":
            send_code = int(send_codes[i]) if coded_failure[i] else None
            error, failure = (
                (f"SMS.ru {send_code}: refused", Failure.REFUSED)
                if send_code
                else LOCAL_FAILURES[local_failures[i]]
            )
        else:
            send_code, error, failure = (100 if sent[i] else None), None, None
        status_code = {"undelivered": int(status_codes[i]), "delivered": 103}.get(s)
        status_code = status_code or (102 if s == "in_transit" else 100 if sent[i] else None)
        phone = f"+7925{(start + i) % 10_000_000:07d}"
        src = str(source[i])
        rows.append(
            (
                int(portal[i]) + 1,
                f"m{start + i}",
                "smsru",
                "marketing" if src == "campaign" else "transactional",
                src,
                phone,
                phone,
                text_for(start + i, segs),
                "ucs2",
                segs,
                s,
                f"{start + i:09d}-1" if sent[i] or send_code else None,
                send_code,
                status_code,
                error,
                failure,
                f"{segs * PRICE_E4 / 10_000:.4f}" if has_cost[i] else None,
                1,
                accepted_text[i],
                accepted_text[i],
                sent_text[i] if sent[i] else None,
                final_text[i] if final[i] else (accepted_text[i] if s == "failed" else None),
                False,
                0,
                False,
                0,
                accepted_text[i],
            )
        )
    return rows


def _epoch_us(instant: datetime) -> int:
    return (instant - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _timestamps(epoch_us: np.ndarray) -> list[str]:
    """Microseconds since the epoch as SQLAlchemy stores them on SQLite (UTC, no zone); the
    PostgreSQL copy adds the zone."""
    text_ = np.datetime_as_string(epoch_us.astype("datetime64[us]"), unit="us")
    return [t.replace("T", " ") for t in text_.tolist()]


def _insert_sqlite(url: str, chunks: Iterator[list[tuple[Any, ...]]]) -> None:
    path = make_url(url).database
    assert path
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA synchronous=OFF")
    marks = ", ".join("?" for _ in COLUMNS)
    with connection:
        for rows in chunks:
            connection.executemany(
                f"INSERT INTO messages ({', '.join(COLUMNS)}) VALUES ({marks})", rows
            )
    connection.execute("ANALYZE")
    connection.close()


def _copy_postgresql(url: str, chunks: Iterator[list[tuple[Any, ...]]]) -> None:
    dsn = sync_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    stamps = {
        COLUMNS.index(c)
        for c in ("next_attempt_at", "accepted_at", "sent_at", "final_at", "updated_at")
    }
    with psycopg.connect(dsn) as connection, connection.cursor() as cursor:
        with cursor.copy(f"COPY messages ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for rows in chunks:
                for row in rows:
                    copy.write_row(
                        [
                            f"{v}+00" if i in stamps and v is not None else v
                            for i, v in enumerate(row)
                        ]
                    )
        cursor.execute("ANALYZE messages")


# --- measuring (each in a fresh process) ---------------------------------------------------


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def measure_fetch(url: str) -> dict[str, Any]:
    """The baseline: the report's own SQL and parameters, as SQLAlchemy hands them to the
    driver, run on the bare DB-API connection; the rows are fetched and dropped."""
    engine = create_engine(sync_url(url), poolclass=NullPool)
    sql, parameters = _as_sent(engine, window_query(bench_days()))
    connection = engine.raw_connection()
    postgresql = engine.dialect.name == "postgresql"
    started = time.perf_counter()
    try:
        # Server-side on PostgreSQL, as the report reads; SQLite's cursors step lazily anyway.
        driver: Any = connection.driver_connection
        cursor = driver.cursor(name="bench") if postgresql else connection.cursor()
        cursor.execute(sql, parameters)
        rows = 0
        while batch := cursor.fetchmany(CHUNK):
            rows += len(batch)
    finally:
        connection.close()
    seconds = time.perf_counter() - started
    engine.dispose()
    return {"seconds": seconds, "rows": rows, "peak_mb": _peak_mb()}


def _as_sent(engine: Engine, statement: Select[Any]) -> tuple[str, Any]:
    """The SQL string and driver parameters SQLAlchemy sends for `statement`."""
    sent: dict[str, Any] = {}

    def capture(_conn: Any, _cursor: Any, sql: str, parameters: Any, *_: Any) -> None:
        sent.update(sql=sql, parameters=parameters)

    event.listen(engine, "before_cursor_execute", capture)
    with engine.connect() as connection:  # streamed: PostgreSQL sends no rows before closing
        connection.execution_options(stream_results=True).execute(statement).close()
    event.remove(engine, "before_cursor_execute", capture)
    return sent["sql"], sent["parameters"]


def measure_report(url: str, directory: str, templates: bool) -> dict[str, Any]:
    days = bench_days()
    idle = _peak_mb()
    cpu = time.process_time()
    started = time.perf_counter()
    frame, texts = asyncio.run(read_days(make_url(url), days, templates=templates))
    loaded = time.perf_counter()
    report = compute(frame, days, top_texts=texts)
    computed = time.perf_counter()
    path = report_html.write(report, Path(directory))
    written = time.perf_counter()
    return {
        "seconds": written - started,
        "cpu": time.process_time() - cpu,  # steadier than wall time on a shared machine
        "load": loaded - started,
        "compute": computed - loaded,
        "html": written - computed,
        "peak_mb": _peak_mb(),
        "idle_mb": idle,
        "path": str(path),
        "totals": _totals(report),
        "templates": len({t.template for t in report.templates}),
    }


def _totals(report: DailyReport) -> dict[str, int]:
    t = report.total
    return {
        "messages": t.messages,
        "delivered": t.delivered,
        "failed": t.failed,
        "segments": t.segments,
        "texts": len(report.top_texts),
    }


def check(report: dict[str, Any], expected: Expected) -> None:
    wanted = {
        "messages": expected.messages,
        "delivered": expected.delivered,
        "failed": expected.failed,
        "segments": expected.segments,
        "texts": expected.texts,
    }
    if report["totals"] != wanted:
        sys.exit(f"the report's figures {report['totals']} are not the generated {wanted}")


if __name__ == "__main__":
    main()
