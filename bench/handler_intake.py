"""Handler intake: Bitrix24 message POSTs per second, and their latency, at 32 connections.

Everything is real and on loopback, each in its own process: `smsbridge webhook` (uvicorn, with its
sender workers sending every stored message to the SMS.ru emulator, which answers each call in
100 ms), the emulator, and the load generator (bench.load), which POSTs Bitrix24's form bodies —
a CRM card's message with its author's `auth` block — each with a unique message_id and number.
The baseline, measured in the same run with the same generator and uvicorn settings, is a bare
Starlette endpoint that reads the body and answers 200. Goal: ≥ 40 % of the baseline, p99 < 20 ms.

`--no-workers` then measures the intake role as well, against the same baseline: `smsbridge webhook
--no-workers` beside a `smsbridge worker` process that sends what it stores, and alone (nothing
sends; the outbox fills).

Run: `.venv/bin/python -m bench.handler_intake [--no-workers] [--database-url URL]
[--profile FILE]`.
"""

from __future__ import annotations

import argparse
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from bench import loopback
from bench.load import ID_MARKER, N7_MARKER
from models import Message
from models.database import make_sync_engine
from models.types import utcnow
from sandbox.bitrix24.messages import Author, encode, message_fields
from smsbridge.endpoints import portal_handler_path

MEMBER_ID = "bench-intake-portal"
APPLICATION_TOKEN = "bench-application-token"
GOAL_RATIO = 0.40
GOAL_P99_MS = 20.0


def template() -> bytes:
    """A card's message as Bitrix24 POSTs it, with markers for the unique id and number."""
    author = Author(member_id=MEMBER_ID, application_token=APPLICATION_TOKEN)
    number = N7_MARKER.decode()
    fields = message_fields(
        "crm",
        f"+7916{number}",
        f"Ваш заказ № {number} собран и ждёт вас в пункте выдачи.",
        message_id=ID_MARKER.decode(),
        author=author,
    )
    return encode(fields)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured")
    parser.add_argument(
        "--no-workers",
        action="store_true",
        help="then `webhook --no-workers` too: beside a `smsbridge worker` process, and alone",
    )
    loopback.add_arguments(parser)
    args = parser.parse_args()
    with ExitStack() as stack:
        folder = loopback.scratch_folder(stack)
        url = loopback.database(args.database_url, folder)
        portal_id = loopback.ensure_portal(url, MEMBER_ID, APPLICATION_TOKEN)
        smsru = stack.enter_context(loopback.smsru(folder, latency=0.1))
        run = Run(folder, url, portal_id, smsru.url, args.profile, template(), {
            "concurrency": args.concurrency, "warmup": args.warmup, "duration": args.duration,
        })  # fmt: skip
        print(
            f"handler intake: {args.concurrency} connections, {args.warmup:.0f} s warm-up, "
            f"{args.duration:.0f} s measured, {len(run.body)}-byte bodies, "
            f"database {url.split(':')[0]}; {loopback.machine_load()}"
        )
        with loopback.bare(folder) as bare:
            baseline = loopback.run_load(
                bare, "/bare/handler", folder, template=run.body, **run.load
            )
        baseline.require(200)
        print(f"baseline (bare Starlette, same uvicorn): {baseline.describe()}")
        run.measure("webhook", baseline)
        if args.no_workers:
            run.measure("webhook --no-workers beside a smsbridge worker", baseline, worker=True)
            run.measure("webhook --no-workers, nothing sending", baseline, worker=False)


@dataclass(frozen=True)
class Run:
    """What every measurement of one run shares: the folder, the database, SMS.ru, the load."""

    folder: Path
    url: str
    portal_id: int
    smsru_url: str
    profile: Path | None
    body: bytes
    load: dict[str, Any]

    def measure(self, label: str, baseline: loopback.Load, *, worker: bool | None = None) -> None:
        """`worker`: None for `smsbridge webhook`; else `webhook --no-workers`, beside a
        `smsbridge worker` process if True."""
        started = utcnow()
        with ExitStack() as stack:
            sender = None
            if worker:
                sender = stack.enter_context(loopback.worker(self.folder, self.url, self.smsru_url))
            webhook = stack.enter_context(
                loopback.webhook(
                    self.folder, self.url, self.smsru_url, self.profile, workers=worker is None
                )
            )
            path = portal_handler_path(MEMBER_ID, loopback.SECRET)
            cpu = sender.cpu_seconds() if sender else 0.0
            intake = loopback.run_load(webhook, path, self.folder, template=self.body, **self.load)
            if sender is not None:
                cpu = (sender.cpu_seconds() - cpu) / intake.server_wall
            states = stored_states(self.url, self.portal_id, started)
        if worker is False:
            discard_queued(self.url, self.portal_id, started)
        intake.require(200)
        print(f"{label}: {intake.describe()}")
        if sender is not None:
            print(f"  the worker process meanwhile: {cpu:.0%} of a core")
        print(f"  messages stored during the run by state: {states}")
        ratio = intake.rate / baseline.rate
        print(
            f"  ratio to baseline {ratio:.1%} (goal ≥ {GOAL_RATIO:.0%}); "
            f"p99 {intake.p99_ms:.1f} ms (goal < {GOAL_P99_MS:.0f} ms)"
        )


def stored_states(database_url: str, portal_id: int, since: object) -> dict[str, int]:
    engine = make_sync_engine(database_url)
    with Session(engine) as session:
        rows = session.exec(
            select(Message.state, func.count())
            .where(Message.portal_id == portal_id, col(Message.accepted_at) >= since)
            .group_by(Message.state)
        ).all()
    engine.dispose()
    return {state: count for state, count in rows}


def discard_queued(database_url: str, portal_id: int, since: object) -> None:
    """Fail what the run left queued: otherwise the next run's sender sends it meanwhile."""
    engine = make_sync_engine(database_url)
    with Session(engine) as session:
        session.execute(
            update(Message)
            .where(
                col(Message.portal_id) == portal_id,
                col(Message.state) == "queued",
                col(Message.accepted_at) >= since,
            )
            .values(state="failed", error="left by the benchmark", final_at=utcnow())
        )
        session.commit()
    engine.dispose()


if __name__ == "__main__":
    main()
