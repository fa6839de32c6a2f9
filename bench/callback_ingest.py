"""Callback ingest: SMS.ru status records per second through POST /smsru/callback/{secret}.

Everything is real and on loopback, each in its own process: `smsbridge webhook` (uvicorn, its
workers running), the SMS.ru emulator it is configured with, and the load generator (bench.load),
which POSTs SMS.ru's callbacks — 100 signed `sms_status` records each, `delivered` for messages
stored as sent — one at a time as SMS.ru sends them to one URL, and then several at once. Every
record advances a message, so each POST locks, updates and logs 100 rows. The baseline, measured in
the same run with the same bodies, generator and uvicorn settings, is a bare endpoint that parses
the form and answers `100`. Goal: ≥ 5,000 records/s.

Run: `.venv/bin/python -m bench.callback_ingest [--database-url URL] [--profile FILE]`.
"""

from __future__ import annotations

import argparse
import os
from contextlib import ExitStack
from urllib.parse import urlencode

from sqlalchemy import func, insert, text
from sqlmodel import Session, col, select

from bench import loopback
from clients.smsru.callbacks import signed_form, status_record
from models import Message
from models.database import make_sync_engine
from models.types import utcnow
from smsbridge.endpoints import callback_path

MEMBER_ID = "bench-callback-portal"
RECORDS = 100  # per POST, as SMS.ru sends them
DELIVERED = 103
GOAL = 5000
BASELINE_REPEAT = 10  # the bare endpoint is quick: more POSTs for a measurable time


def store_sent(database_url: str, portal_id: int, sms_ids: list[str]) -> None:
    """Messages as the sender leaves them once SMS.ru took them: `sent`, with their sms_id."""
    now = utcnow()
    rows = [
        loopback.sent_row(portal_id, f"m-{sms_id}", sms_id, now) | {"next_poll_at": now}
        for sms_id in sms_ids
    ]
    engine = make_sync_engine(database_url)
    with Session(engine) as session:
        for start in range(0, len(rows), 10_000):
            session.execute(insert(Message), rows[start : start + 10_000])
        session.commit()
        # Statistics, as autovacuum would gather them on a table that grew by itself: without
        # them PostgreSQL plans the callback's `sms_id IN (…)` as a scan of the whole table.
        session.execute(text("ANALYZE messages"))
        session.commit()
    engine.dispose()


def callback_bodies(sms_ids: list[str]) -> list[bytes]:
    """SMS.ru's callback forms: `data[i]` records and their `hash`, 100 records each."""
    bodies = []
    for start in range(0, len(sms_ids), RECORDS):
        records = [status_record(sms_id, DELIVERED) for sms_id in sms_ids[start : start + RECORDS]]
        bodies.append(urlencode(signed_form(loopback.KEY, records)).encode())
    return bodies


def delivered(database_url: str, sms_ids: list[str]) -> int:
    engine = make_sync_engine(database_url)
    with Session(engine) as session:
        count = 0
        for start in range(0, len(sms_ids), 1000):
            chunk = sms_ids[start : start + 1000]
            count += session.exec(
                select(func.count()).where(
                    col(Message.sms_id).in_(chunk), Message.state == "delivered"
                )
            ).one()
    engine.dispose()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=300, help="measured POSTs per round")
    parser.add_argument("--warmup", type=int, default=10, help="POSTs before measuring")
    parser.add_argument(
        "--concurrency", default="1,4", help="rounds: POSTs in flight at once (1: as SMS.ru)"
    )
    loopback.add_arguments(parser)
    args = parser.parse_args()
    levels = [int(level) for level in args.concurrency.split(",")]
    with ExitStack() as stack:
        folder = loopback.scratch_folder(stack)
        url = loopback.database(args.database_url, folder)
        portal_id = loopback.ensure_portal(url, MEMBER_ID)
        run = os.urandom(3).hex()
        rounds = {}
        for level in levels:
            count = (args.warmup + args.posts) * RECORDS
            sms_ids = [f"cb{run}c{level}-{i:07d}" for i in range(count)]
            store_sent(url, portal_id, sms_ids)
            rounds[level] = (sms_ids, callback_bodies(sms_ids))
        print(
            f"callback ingest: {args.posts} POSTs of {RECORDS} records per round after "
            f"{args.warmup} warm-up POSTs; database {url.split(':')[0]}; {loopback.machine_load()}"
        )
        smsru = stack.enter_context(loopback.smsru(folder, latency=0.1))
        baselines = {}
        with loopback.bare(folder) as bare:
            for level, (_, bodies) in rounds.items():
                baselines[level] = loopback.run_load(
                    bare, "/bare/callback", folder, bodies=bodies * BASELINE_REPEAT,
                    concurrency=level, warmup_count=args.warmup,
                )  # fmt: skip
        results = {}
        with loopback.webhook(folder, url, smsru.url, args.profile) as webhook:
            for level, (_, bodies) in rounds.items():
                results[level] = loopback.run_load(
                    webhook, callback_path(loopback.SECRET), folder, bodies=bodies,
                    concurrency=level, warmup_count=args.warmup,
                )  # fmt: skip
        for level in levels:
            baseline, result = baselines[level], results[level]
            baseline.require(200)
            result.require(200)
            sms_ids = rounds[level][0]
            print(f"{level} POST(s) at once:")
            print(f"  baseline (bare endpoint): {baseline.describe('records', RECORDS)}")
            print(f"  webhook: {result.describe('records', RECORDS)}")
            print(
                f"  delivered in the database: {delivered(url, sms_ids):,} of {len(sms_ids):,}; "
                f"ratio to baseline {result.rate / baseline.rate:.1%}; "
                f"{result.rate * RECORDS:,.0f} records/s against the goal of {GOAL:,}"
            )


if __name__ == "__main__":
    main()
