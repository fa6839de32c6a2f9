"""Broadcast validation: N numbers checked and priced, 4 cost calls at once against one at a time.

Everything runs for real on loopback: the SMS.ru emulator answering each call after `--latency`
seconds (a live `/sms/cost` round trip from Moscow takes a few tenths of a second), and the
database holding a stop list of 1 % of the numbers. 5 % of the rows are landlines and 5 % repeat
an earlier number, so the local checks have work to do. The baseline is the same check making
its cost calls one at a time, measured in the same run; one call per number (the naive way) would
take N × latency, shown for scale.

Run: `.venv/bin/python -m bench.validate_broadcast [N] [--latency S] [--database-url URL]`.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from pydantic import SecretStr
from sqlmodel import Session

from clients.smsru.client import CALLS_AT_ONCE, SmsRuClient
from models import StopListEntry
from models.database import make_sync_engine
from models.migrate import upgrade
from sandbox.server import BackgroundServer
from sandbox.smsru import SmsRuEmulator
from sandbox.smsru import create_app as create_smsru_app
from smsbridge.broadcast.check import BroadcastCheck, check_broadcast
from smsbridge.broadcast.recipients import Recipient
from smsbridge.config import Settings, load_settings
from smsbridge.runtime import runtime

KEY = "bench-smsru-key-000000"
TEXT = "Скидка 20% на всё до воскресенья!"


def recipients(n: int) -> list[Recipient]:
    rows = []
    for i in range(n):
        if i % 20 == 7:
            phone = f"+7 495 {2000000 + i}"  # a landline
        elif i % 20 == 13:
            phone = f"8 916 {i - 1:07d}"  # the row before, written another way
        else:
            phone = f"+7916{i:07d}"
        rows.append(Recipient(phone, f"line {i + 2}", {}))
    return rows


async def timed(
    settings: Settings, people: list[Recipient], at_once: int
) -> tuple[float, BroadcastCheck]:
    async with runtime(settings) as rt:
        smsru = SmsRuClient(KEY, base_url=settings.smsru_base, http=rt.http)
        started = time.perf_counter()
        check = await check_broadcast(
            people, TEXT, sessions=rt.sessions, smsru=smsru, calls_at_once=at_once
        )
        return time.perf_counter() - started, check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, nargs="?", default=10_000, help="numbers to validate")
    parser.add_argument("--latency", type=float, default=0.3, help="seconds per SMS.ru call")
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    upgrade(url)
    engine = make_sync_engine(url)
    with Session(engine) as session:
        for i in range(0, args.n, 100):
            session.merge(StopListEntry(phone=f"+7916{i:07d}", reason="bench"))
        session.commit()
    engine.dispose()

    smsru = SmsRuEmulator()
    smsru.add_account(KEY)
    smsru.latency = args.latency
    people = recipients(args.n)
    with BackgroundServer(create_smsru_app(smsru)) as server:
        settings = load_settings(
            _env_file=None,
            database_url=url,
            smsru_api_id=SecretStr(KEY),
            smsru_api_url=server.url,
        )
        parallel, check = asyncio.run(timed(settings, people, CALLS_AT_ONCE))
        sequential, _ = asyncio.run(timed(settings, people, 1))
    assert not [r for r in smsru.requests if r.path == "/sms/send"]

    print(f"{args.n} numbers, SMS.ru latency {args.latency:.2f} s, database {engine.dialect.name}")
    print(f"valid {len(check.valid)}, invalid {len(check.invalid)}: {check.invalid_by_reason()}")
    print(f"cost calls: {check.cost_calls}; total cost {check.total_cost} RUB")
    print(f"{CALLS_AT_ONCE} calls at once: {parallel:.2f} s")
    print(f"one call at a time (baseline): {sequential:.2f} s")
    print(f"ratio to baseline: {parallel / sequential:.2f}")
    print(f"one call per number (naive, derived): {args.n * args.latency:.0f} s")


if __name__ == "__main__":
    main()
