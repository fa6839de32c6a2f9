"""Handler intake: Bitrix24 message POSTs per second, and their latency, at 32 connections.

Everything is real and on loopback, each in its own process: `smsbridge webhook` (uvicorn, with its
sender workers sending every stored message to the SMS.ru emulator, which answers each call in
100 ms), the emulator, and the load generator (bench.load), which POSTs Bitrix24's form bodies —
a CRM card's message with its author's `auth` block — each with a unique message_id and number.
The baseline, measured in the same run with the same generator and uvicorn settings, is a bare
Starlette endpoint that reads the body and answers 200. Goal: ≥ 40 % of the baseline, p99 < 20 ms.

Run: `.venv/bin/python -m bench.handler_intake [--database-url URL] [--profile FILE]`.
"""

from __future__ import annotations

import argparse
from contextlib import ExitStack

from sqlalchemy import func
from sqlmodel import Session, col, select

from bench import loopback
from bench.load import ID_MARKER, N7_MARKER
from models import Message
from models.database import make_sync_engine
from models.types import utcnow
from sandbox.bitrix24.messages import Author, encode, message_fields
from smsbridge.registration import handler_path

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
    loopback.add_arguments(parser)
    args = parser.parse_args()
    load = {"concurrency": args.concurrency, "warmup": args.warmup, "duration": args.duration}
    with ExitStack() as stack:
        folder = loopback.scratch_folder(stack)
        url = loopback.database(args.database_url, folder)
        portal_id = loopback.ensure_portal(url, MEMBER_ID, APPLICATION_TOKEN)
        smsru = stack.enter_context(loopback.smsru(folder, latency=0.1))
        body = template()
        print(
            f"handler intake: {args.concurrency} connections, {args.warmup:.0f} s warm-up, "
            f"{args.duration:.0f} s measured, {len(body)}-byte bodies, "
            f"database {url.split(':')[0]}; {loopback.machine_load()}"
        )
        with loopback.bare(folder) as bare:
            baseline = loopback.run_load(bare, "/bare/handler", folder, template=body, **load)
        baseline.require(200)
        print(f"baseline (bare Starlette, same uvicorn): {baseline.describe()}")
        started = utcnow()
        with loopback.webhook(folder, url, smsru.url, args.profile) as webhook:
            path = handler_path(MEMBER_ID, loopback.SECRET)
            intake = loopback.run_load(webhook, path, folder, template=body, **load)
            states = stored_states(url, portal_id, started)
        intake.require(200)
    print(f"webhook: {intake.describe()}")
    print(f"messages stored during the run by state: {states}")
    ratio = intake.rate / baseline.rate
    print(
        f"ratio to baseline {ratio:.1%} (goal ≥ {GOAL_RATIO:.0%}); p99 {intake.p99_ms:.1f} ms "
        f"(goal < {GOAL_P99_MS:.0f} ms)"
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


if __name__ == "__main__":
    main()
