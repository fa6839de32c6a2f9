"""Campaign memory: the webhook's peak RSS while a 10,000-message campaign goes through it.

Everything is real and on loopback: `smsbridge webhook` in its own process (uvicorn, sender and
pusher workers), the SMS.ru emulator in another (answering each call in 100 ms, moving statuses on
over seconds and POSTing its callbacks), and a Bitrix24 portal emulator (2 requests/s, burst 50)
installed through the real install endpoint. The load generator (bench.load) POSTs the campaign's
messages to the handler as Bitrix24's queue server would, 8 at a time; the run ends when the portal
shows a final status for every message (handler POSTs → sends → callbacks → batched status pushes).
psutil polls the webhook's RSS every 50 ms. The baseline is the idle webhook's RSS after startup
and install, measured in the same run.

Run: `.venv/bin/python -m bench.campaign_memory [N] [--database-url URL]`.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from contextlib import ExitStack

import psutil

from bench import loopback
from sandbox.bitrix24.authserver import AuthorizationServer
from sandbox.bitrix24.messages import encode, message_fields, new_message_id
from sandbox.bitrix24.portal import PortalEmulator
from sandbox.bitrix24.serve import portal_app, served_at
from sandbox.server import BackgroundServer
from smsbridge.endpoints import portal_handler_path
from smsbridge.status.states import FINAL

TEXT = "Распродажа до пятницы: −20 % на всё. Отписаться: ответьте STOP"
CONCURRENCY = 8  # handler POSTs in flight, as from Bitrix24's queue server
SAMPLE_EVERY = 0.05
TIMEOUT = 1800.0
# Seconds from a send to `accepted`, `in transit` and `delivered`: a real SMS takes seconds. (A
# callback that arrives before the sender has stored the send's answer finds no message; it is
# answered and dropped, and the message waits for the poll-statuses flow, which is not run here.)
DELAYS = (1.0, 2.0, 3.0)
MB = 1024 * 1024


class RssSampler:
    """Polls a process's resident set size in a thread; keeps the peak and when it happened."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.started = time.monotonic()
        self.peak = self.now()
        self.peak_at = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def now(self) -> int:
        return int(self.process.memory_info().rss)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY):
            rss = self.now()
            if rss > self.peak:
                self.peak, self.peak_at = rss, time.monotonic() - self.started


def campaign(portal: PortalEmulator, n: int) -> tuple[list[str], list[bytes]]:
    """N campaign messages registered in the portal, and their HANDLER bodies."""
    ids, bodies = [], []
    for i in range(n):
        message_id = new_message_id()
        portal.register_message(message_id, code="smsru", author_id=None)
        fields = message_fields("sender", f"+7916{i:07d}", TEXT, message_id=message_id)
        ids.append(message_id)
        bodies.append(encode(fields))
    return ids, bodies


def wait_final(portal: PortalEmulator, ids: list[str]) -> dict[str, int]:
    deadline = time.monotonic() + TIMEOUT
    pending = list(ids)
    while pending and time.monotonic() < deadline:
        time.sleep(0.5)
        pending = [m for m in pending if portal.message_status(m) not in FINAL]
    if pending:
        raise SystemExit(f"{len(pending)} messages without a final status after {TIMEOUT:.0f} s")
    counts: dict[str, int] = {}
    for message_id in ids:
        status = str(portal.message_status(message_id))
        counts[status] = counts.get(status, 0) + 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, nargs="?", default=10_000, help="messages")
    parser.add_argument("--idle", type=float, default=3.0, help="seconds idle before the baseline")
    loopback.add_arguments(parser)
    args = parser.parse_args()
    with ExitStack() as stack:
        folder = loopback.scratch_folder(stack)
        url = loopback.database(args.database_url, folder)
        # A portal of its own each run, so that a database used before does not matter.
        portal = PortalEmulator(rate=2.0, burst=50, member_id=os.urandom(16).hex())
        authorization = AuthorizationServer()
        portal_server = stack.enter_context(BackgroundServer(portal_app(portal, authorization)))
        served_at(portal, authorization, portal_server.url)
        smsru = stack.enter_context(loopback.smsru(folder, latency=0.1, delays=DELAYS))
        webhook = stack.enter_context(
            loopback.webhook(
                folder, url, smsru.url, args.profile,
                BITRIX24_CLIENT_ID=portal.client_id,
                BITRIX24_CLIENT_SECRET=portal.client_secret,
                BITRIX24_OAUTH_URL=portal.oauth_url,
            )
        )  # fmt: skip
        portal.install(f"{webhook.url}/bitrix24/install").raise_for_status()
        print(
            f"campaign memory: {args.n:,} messages, database {url.split(':')[0]}; "
            f"{loopback.machine_load()}"
        )
        ids, bodies = campaign(portal, args.n)
        time.sleep(args.idle)
        sampler = stack.enter_context(RssSampler(webhook.pid))
        idle = sampler.now()
        started = time.monotonic()
        intake = loopback.run_load(
            webhook, portal_handler_path(portal.member_id, loopback.SECRET), folder,
            bodies=bodies, concurrency=CONCURRENCY,
        )  # fmt: skip
        intake.require(200)
        counts = wait_final(portal, ids)
        elapsed = time.monotonic() - started
        final = sampler.now()
    print(f"handler intake: {intake.describe()}")
    print(f"every message final in the portal after {elapsed:.1f} s: {counts}")
    print(
        f"webhook RSS: idle {idle / MB:.1f} MB (baseline); peak {sampler.peak / MB:.1f} MB "
        f"at {sampler.peak_at:.1f} s (+{(sampler.peak - idle) / MB:.1f} MB); "
        f"after the campaign {final / MB:.1f} MB; peak / idle {sampler.peak / idle:.2f}"
    )


if __name__ == "__main__":
    main()
