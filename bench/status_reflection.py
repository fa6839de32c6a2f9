"""Status reflection: N delivered callbacks → N `delivered` statuses in the portal.

Everything runs for real on loopback: the webhook with its workers, the SMS.ru emulator and a
Bitrix24 portal emulator limited to 2 requests/s with a burst of 50. N messages are put in the
outbox as sent (and registered in the portal as Bitrix24 would), then SMS.ru's callbacks for all
of them are POSTed, 100 records each, as SMS.ru sends them; the clock runs until the portal shows
every one delivered. The floor is N / 100 s (2 batch requests/s × 50 updates); the naive baseline,
one `status.update` per status, would need N / 2 s.

Run: `.venv/bin/python -m bench.status_reflection [N] [--rounds R]`. Round 1 starts with an
empty bucket (the burst helps); later rounds start right after the previous one (sustained rate).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx
from pydantic import SecretStr
from sqlalchemy import insert
from sqlmodel import Session, select

from bench import loopback
from clients.smsru.callbacks import signed_form, status_record
from models import Message, Portal
from models.database import make_sync_engine
from models.migrate import upgrade
from models.types import utcnow
from sandbox.bitrix24.authserver import AuthorizationServer
from sandbox.bitrix24.messages import new_message_id
from sandbox.bitrix24.portal import PortalEmulator
from sandbox.bitrix24.serve import portal_app, served_at
from sandbox.server import BackgroundServer, free_port
from sandbox.smsru import SmsRuEmulator
from sandbox.smsru import create_app as create_smsru_app
from smsbridge.config import load_settings
from smsbridge.endpoints import callback_path
from webhook.app import create_app

RECORDS_PER_CALLBACK = 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, nargs="?", default=2000, help="statuses per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    upgrade(url)
    engine = make_sync_engine(url)

    smsru = SmsRuEmulator()
    smsru.add_account(loopback.KEY)
    smsru.callbacks_enabled = False  # the benchmark posts the callbacks itself
    # A portal of its own each run, so that a database used before does not matter.
    portal = PortalEmulator(rate=2.0, burst=50, member_id=os.urandom(16).hex())
    authorization = AuthorizationServer()
    with (
        BackgroundServer(create_smsru_app(smsru)) as smsru_server,
        BackgroundServer(portal_app(portal, authorization)) as portal_server,
    ):
        served_at(portal, authorization, portal_server.url)
        port = free_port()
        settings = load_settings(
            _env_file=None,
            database_url=url,
            public_url=f"http://127.0.0.1:{port}",
            webhook_secret=loopback.SECRET,
            smsru_api_id=SecretStr(loopback.KEY),
            smsru_api_url=smsru_server.url,
            bitrix24_client_id=portal.client_id,
            bitrix24_client_secret=SecretStr(portal.client_secret),
            bitrix24_oauth_url=portal.oauth_url,
        )
        with BackgroundServer(create_app(settings), port=port) as webhook:
            installed = portal.install(webhook.url + "/bitrix24/install")
            installed.raise_for_status()
            with Session(engine) as session:
                portal_id = session.exec(
                    select(Portal.id).where(Portal.member_id == portal.member_id)
                ).one()
            print(f"status reflection: N={args.n} per round, portal at 2 requests/s, burst 50")
            print(f"floor N/100 = {args.n / 100:.1f} s; naive baseline N/2 = {args.n / 2:.0f} s")
            for number in range(1, args.rounds + 1):
                run_round(number, args.n, engine, portal, portal_id, webhook.url)
    print(f"QUERY_LIMIT_EXCEEDED answers over the run: {portal.limit_exceeded_count}")
    print(f"token refreshes: {portal.refresh_calls}")
    if portal.limit_exceeded_count:
        sys.exit(1)


def run_round(
    number: int, n: int, engine: object, portal: PortalEmulator, portal_id: int, base: str
) -> None:
    sms_ids = [f"bench{number}-{i:07d}" for i in range(n)]
    message_ids = [new_message_id() for _ in sms_ids]
    for message_id in message_ids:
        portal.register_message(message_id, code="smsru", author_id=None)
    now = utcnow()
    rows = [
        loopback.sent_row(portal_id, message_id, sms_id, now)
        | {"push_pending": False, "push_attempts": 0, "polls": 0}
        for sms_id, message_id in zip(sms_ids, message_ids, strict=True)
    ]
    with Session(engine) as session:  # type: ignore[call-overload]
        session.execute(insert(Message), rows)
        session.commit()
    batches_before = sum(1 for r in portal.request_log if r.method == "batch")
    started = time.perf_counter()
    with httpx.Client(base_url=base, timeout=30.0) as http:
        for start in range(0, n, RECORDS_PER_CALLBACK):
            records = [
                status_record(sms_id, 103)
                for sms_id in sms_ids[start : start + RECORDS_PER_CALLBACK]
            ]
            answer = http.post(
                callback_path(loopback.SECRET), data=signed_form(loopback.KEY, records)
            )
            assert answer.text == "100", answer.text
    ingested = time.perf_counter() - started
    pending = set(message_ids)
    while pending:
        pending = {m for m in pending if portal.message_status(m) != "delivered"}
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    batches = sum(1 for r in portal.request_log if r.method == "batch") - batches_before
    floor = n / 100
    print(
        f"round {number}: {n} delivered in {elapsed:.2f} s (callbacks taken in {ingested:.2f} s, "
        f"{batches} batch requests); ratio to floor {elapsed / floor:.2f} (goal ≤ 1.2); "
        f"vs naive baseline {elapsed / (n / 2):.3f}"
    )


if __name__ == "__main__":
    main()
