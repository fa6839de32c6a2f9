"""The load generator: keep-alive connections, each POSTing its next form body on the last answer.

It runs in its own process (`python -m bench.load …`, started by `bench.loopback.run_load`) so that
its CPU is its own and is reported with its figures: a generator near 100 % of a core would be the
bottleneck, not the server. It speaks HTTP/1.1 through asyncio protocols rather than an HTTP client
library, so a request costs it a few microseconds.

Two ways to make bodies:
- `--template FILE`: one body with the markers `__ID__` (replaced by a 32-hex-digit unique id) and
  `__N7__` (7 digits of the same counter); runs `--warmup` seconds, then measures `--duration`.
- `--bodies FILE`: one body a line, each POSTed once; the first `--warmup-count` are a warm-up
  (finished before the clock starts), the rest are timed from the first to the last answer.

Prints one JSON object: requests (measured), answered (warm-up included), seconds, rate,
p50/p99/max latency (ms), statuses, cpu (share of one core the generator used while measuring).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ID_MARKER = b"__ID__"
N7_MARKER = b"__N7__"


@dataclass
class Tally:
    """What was measured: latencies (ns) and statuses of the answers inside the window."""

    measuring: bool = False
    answered: int = 0  # warm-up included: the server's work over the whole run
    latencies: list[int] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

    def note(self, status: int, latency: int) -> None:
        self.answered += 1
        if self.measuring:
            self.latencies.append(latency)
            self.statuses[status] += 1


class Connection(asyncio.Protocol):
    """One keep-alive connection: send a request, read its answer, ask for the next body."""

    def __init__(self, head: Callable[[int], bytes], bodies: Iterator[bytes], tally: Tally) -> None:
        self.head = head
        self.bodies = bodies
        self.tally = tally
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.sent_at = 0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.send_next()

    def send_next(self) -> None:
        assert self.transport is not None
        body = next(self.bodies, None)
        if body is None:
            self.transport.close()
            return
        self.sent_at = time.perf_counter_ns()
        self.transport.write(self.head(len(body)) + body)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        length = _content_length(head)
        if len(self.buffer) < end + 4 + length:
            return
        latency = time.perf_counter_ns() - self.sent_at
        self.tally.note(int(head[9:12]), latency)
        del self.buffer[: end + 4 + length]
        self.send_next()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


def _content_length(head: bytes) -> int:
    start = head.find(b"content-length:")
    if start < 0:
        return 0
    end = head.find(b"\r\n", start)
    return int(head[start + 15 : end if end >= 0 else None])


def _request_head(url: str) -> Callable[[int], bytes]:
    parts = urlsplit(url)
    prefix = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: "
    ).encode()
    return lambda length: prefix + str(length).encode() + b"\r\n\r\n"


def _templated(template: bytes, until: Callable[[], bool]) -> Iterator[bytes]:
    """Unique bodies from the template while `until()` is false."""
    run = os.urandom(4).hex().encode()
    n = 0
    while not until():
        n += 1
        unique = run + b"%024x" % n
        yield template.replace(ID_MARKER, unique).replace(N7_MARKER, b"%07d" % (n % 10**7))


async def _connect(
    url: str, concurrency: int, bodies: Iterator[bytes], tally: Tally
) -> list[Connection]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    loop = asyncio.get_running_loop()
    head = _request_head(url)
    connections = []
    for _ in range(concurrency):
        _, protocol = await loop.create_connection(
            lambda: Connection(head, bodies, tally), host, port
        )
        connections.append(protocol)
    return connections


async def run_for(
    url: str, template: bytes, concurrency: int, warmup: float, duration: float
) -> dict[str, object]:
    tally = Tally()
    loop = asyncio.get_running_loop()
    begin = loop.time()
    bodies = _templated(template, lambda: loop.time() >= begin + warmup + duration)
    marks: dict[str, float] = {}

    def start() -> None:
        tally.measuring = True
        marks["wall"], marks["cpu"] = time.perf_counter(), time.process_time()

    def stop() -> None:
        tally.measuring = False
        marks["seconds"] = time.perf_counter() - marks["wall"]
        marks["cpu"] = (time.process_time() - marks["cpu"]) / marks["seconds"]

    loop.call_at(begin + warmup, start)
    loop.call_at(begin + warmup + duration, stop)
    connections = await _connect(url, concurrency, bodies, tally)
    await asyncio.gather(*(c.done for c in connections))
    return _summary(tally, marks["seconds"], marks["cpu"])


async def run_list(
    url: str, bodies: list[bytes], concurrency: int, warmup: int
) -> dict[str, object]:
    tally = Tally()
    if warmup:
        connections = await _connect(url, min(concurrency, warmup), iter(bodies[:warmup]), tally)
        await asyncio.gather(*(c.done for c in connections))
    tally.measuring = True
    wall, cpu = time.perf_counter(), time.process_time()
    rest = bodies[warmup:]
    connections = await _connect(url, min(concurrency, len(rest)), iter(rest), tally)
    await asyncio.gather(*(c.done for c in connections))
    seconds = time.perf_counter() - wall
    return _summary(tally, seconds, (time.process_time() - cpu) / seconds)


def _summary(tally: Tally, seconds: float, cpu: float) -> dict[str, object]:
    latencies = sorted(tally.latencies)
    count = len(latencies)

    def percentile(p: float) -> float:
        return latencies[min(count - 1, int(p * count))] / 1e6 if count else float("nan")

    return {
        "requests": count,
        "answered": tally.answered,
        "seconds": seconds,
        "rate": count / seconds,
        "p50_ms": percentile(0.50),
        "p99_ms": percentile(0.99),
        "max_ms": latencies[-1] / 1e6 if count else float("nan"),
        "statuses": {str(status): n for status, n in sorted(tally.statuses.items())},
        "cpu": cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--concurrency", type=int, default=32)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--template", type=Path, help="a body with __ID__ and __N7__ markers")
    source.add_argument("--bodies", type=Path, help="one body a line, each POSTed once")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds (with --template)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds (with --template)")
    parser.add_argument("--warmup-count", type=int, default=0, help="bodies (with --bodies)")
    args = parser.parse_args()
    if args.template:
        template = args.template.read_bytes().strip()
        summary = asyncio.run(
            run_for(args.url, template, args.concurrency, args.warmup, args.duration)
        )
    else:
        bodies = args.bodies.read_bytes().split()
        summary = asyncio.run(run_list(args.url, bodies, args.concurrency, args.warmup_count))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
