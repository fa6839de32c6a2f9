"""Wake-up latency: from a message's intake to SMS.ru taking it, one message at a time.

An idle sender looks at the outbox every second unless intake wakes it. In `smsbridge webhook` the
handler wakes the sender of its own process; with `webhook --no-workers` beside `smsbridge
worker`, on PostgreSQL, a NOTIFY wakes the worker process; on SQLite nothing does, and the
worker's idle poll finds the message. Each mode gets the same messages, POSTed one at a time at
random moments (0.3-0.9 s apart, so the sender is idle when each arrives); the latency is the
message's `sent_at - accepted_at` in the database, SMS.ru's emulator answering at once. Baseline:
the single process, measured in the same run.

Run: `.venv/bin/python -m bench.wake_latency [--count N] [--database-url URL]`.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import httpx
from sqlmodel import Session, col, select

from bench import loopback
from bench.handler_intake import APPLICATION_TOKEN, MEMBER_ID, template
from bench.load import ID_MARKER, N7_MARKER
from models import Message
from models.database import make_sync_engine
from smsbridge.endpoints import handler_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=30, help="messages per mode")
    loopback.add_arguments(parser)
    args = parser.parse_args()
    with ExitStack() as stack:
        folder = loopback.scratch_folder(stack)
        url = loopback.database(args.database_url, folder)
        loopback.ensure_portal(url, MEMBER_ID, APPLICATION_TOKEN)
        smsru = stack.enter_context(loopback.smsru(folder, latency=0.0))
        print(
            f"wake-up latency: {args.count} messages a mode, one at a time; "
            f"database {url.split(':')[0]}; {loopback.machine_load()}"
        )
        baseline = measure("smsbridge webhook (one process)", folder, url, smsru.url, args.count)
        apart = measure(
            "webhook --no-workers + smsbridge worker", folder, url, smsru.url, args.count, True
        )
    print(f"median difference {statistics.median(apart) - statistics.median(baseline):+.0f} ms")


def measure(
    label: str, folder: Path, url: str, smsru_url: str, count: int, apart: bool = False
) -> list[float]:
    """POST `count` messages and wait until SMS.ru has them all; their latencies (ms)."""
    rng = random.Random(8)
    ids = [uuid.uuid4().hex for _ in range(count)]
    with ExitStack() as stack:
        if apart:
            stack.enter_context(loopback.worker(folder, url, smsru_url))
        webhook = stack.enter_context(
            loopback.webhook(folder, url, smsru_url, None, workers=not apart)
        )
        endpoint = webhook.url + handler_path(MEMBER_ID, loopback.SECRET)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        with httpx.Client(headers=headers) as http:
            for message_id in ids:
                time.sleep(rng.uniform(0.3, 0.9))
                number = f"{int(message_id[:7], 16) % 10**7:07d}".encode()
                body = template().replace(ID_MARKER, message_id.encode())
                answer = http.post(endpoint, content=body.replace(N7_MARKER, number))
                answer.raise_for_status()
            latencies = wait_until_sent(url, ids)
    latencies.sort()
    print(
        f"{label}: p50 {statistics.median(latencies):.0f} ms, "
        f"p90 {latencies[int(len(latencies) * 0.9) - 1]:.0f} ms, max {latencies[-1]:.0f} ms"
    )
    return latencies


def wait_until_sent(url: str, ids: list[str], timeout: float = 30.0) -> list[float]:
    engine = make_sync_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with Session(engine) as session:
                rows = session.exec(
                    select(Message.accepted_at, Message.sent_at).where(
                        col(Message.message_id).in_(ids)
                    )
                ).all()
            if len(rows) == len(ids) and all(sent for _, sent in rows):
                return [(sent - accepted).total_seconds() * 1000 for accepted, sent in rows]
            if time.monotonic() > deadline:
                raise SystemExit(f"only {sum(1 for _, s in rows if s)} of {len(ids)} were sent")
            time.sleep(0.2)
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
