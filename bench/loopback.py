"""Benchmark plumbing: a database, processes on loopback, and the load generator.

Each server runs in a process of its own, as in production: the webhook as `smsbridge webhook`
(uvicorn, sender and pusher workers) or as `webhook --no-workers` beside `smsbridge worker`, the
SMS.ru emulator (`bench.smsru_process`), the baseline (`bench.bare`), and the load generator
(`bench.load`). They run in a scratch folder, so no `.env` is read, with the contract's variables
set here and nowhere else.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from argparse import ArgumentParser
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType

import httpx
import psutil
from sqlmodel import Session, select

from models import Portal
from models.database import make_sync_engine
from models.migrate import upgrade
from sandbox.server import free_port
from smsbridge.config import without_contract

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
KEY = "bench-smsru-key-000000"
SECRET = "bench-webhook-secret-0000"
STARTUP_TIMEOUT = 60.0


def add_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="run the webhook under pyinstrument and write its report here (.txt, .html, …)",
    )


def scratch_folder(stack: ExitStack) -> Path:
    return Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="smsbridge-bench-")))


def database(url: str | None, folder: Path) -> str:
    """The database to run on, migrated: `url`, or a new SQLite file in `folder`."""
    url = url or f"sqlite:///{folder / 'bench.db'}"
    upgrade(url)
    return url


def ensure_portal(database_url: str, member_id: str, application_token: str | None = None) -> int:
    """An installed portal (without Bitrix24 tokens, so nothing is pushed); its id."""
    engine = make_sync_engine(database_url)
    with Session(engine) as session:
        portal = session.exec(select(Portal).where(Portal.member_id == member_id)).first()
        if portal is None:
            portal = Portal(member_id=member_id, application_token=application_token)
            session.add(portal)
            session.commit()
        assert portal.id is not None
        portal_id = portal.id
    engine.dispose()
    return portal_id


def sent_row(portal_id: int, message_id: str, sms_id: str, now: datetime) -> dict[str, object]:
    """A message as the sender leaves it once SMS.ru took it: `sent`, with its sms_id."""
    return {
        "portal_id": portal_id,
        "message_id": message_id,
        "provider_code": "smsru",
        "kind": "marketing",
        "source": "campaign",
        "recipient": "+79160000000",
        "recipient_raw": "+79160000000",
        "text": "bench",
        "encoding": "gsm7",
        "segments": 1,
        "state": "sent",
        "sms_id": sms_id,
        "send_code": 100,
        "status_code": 100,
        "attempts": 1,
        "next_attempt_at": now,
        "accepted_at": now,
        "sent_at": now,
        "updated_at": now,
    }


class Service:
    """A server in its own process; stopped with SIGINT so that uvicorn shuts down cleanly (and
    pyinstrument, when it wraps the process, writes its report)."""

    def __init__(
        self, name: str, command: list[str], folder: Path, env: dict[str, str] | None = None
    ) -> None:
        self.name = name
        self.port = free_port()
        self.command = [part.replace("{port}", str(self.port)) for part in command]
        self.folder = folder
        self.env = _environment(env or {})
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def cpu_seconds(self) -> float:
        """CPU time the process used so far (user + system)."""
        times = psutil.Process(self.pid).cpu_times()
        return times.user + times.system

    @property
    def log(self) -> Path:
        return self.folder / f"{self.name}.log"

    def __enter__(self) -> Service:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                self.command, cwd=self.folder, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2.0).status_code < 500:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not answer within {STARTUP_TIMEOUT:.0f} s")
            time.sleep(0.1)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _environment(values: dict[str, str]) -> dict[str, str]:
    inherited = without_contract(os.environ)
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return inherited | {"PYTHONPATH": path} | values


def smsru(
    folder: Path, latency: float, delays: tuple[float, float, float] | None = None
) -> Service:
    """The SMS.ru emulator; `delays`: seconds from a send to each status (default: its own)."""
    command = [sys.executable, "-m", "bench.smsru_process", "--port", "{port}", "--key", KEY]
    command += ["--latency", str(latency)]
    if delays is not None:
        command += ["--delays", ",".join(str(delay) for delay in delays)]
    return Service("smsru", command, folder)


def bare(folder: Path) -> Service:
    return Service("bare", [sys.executable, "-m", "bench.bare", "--port", "{port}"], folder)


def webhook(
    folder: Path,
    database_url: str,
    smsru_url: str,
    profile: Path | None,
    *,
    workers: bool = True,
    **extra: str,
) -> Service:
    """`smsbridge webhook` (`--no-workers` unless `workers`) with the account key global;
    `extra`: more contract variables."""
    command = [str(BIN / "smsbridge"), "webhook", "--port", "{port}"]
    if not workers:
        command.append("--no-workers")
    if profile is not None:
        output = str(profile.resolve())
        command = [sys.executable, "-m", "pyinstrument", "-o", output, *command]
    service = Service("webhook", command, folder)
    service.env |= _contract(service, database_url, smsru_url) | extra
    return service


def worker(folder: Path, database_url: str, smsru_url: str) -> Service:
    """`smsbridge worker`: the sender and the pusher, beside a `webhook --no-workers`."""
    service = Service("worker", [str(BIN / "smsbridge"), "worker", "--port", "{port}"], folder)
    service.env |= _contract(service, database_url, smsru_url)
    return service


def _contract(service: Service, database_url: str, smsru_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "PUBLIC_URL": service.url,
        "WEBHOOK_SECRET": SECRET,
        "SMSRU_API_ID": KEY,
        "SMSRU_API_URL": smsru_url,
    }


@dataclass(frozen=True)
class Load:
    """The load generator's figures (bench.load), and the server's CPU over the generator's run."""

    requests: int
    answered: int
    seconds: float
    rate: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[str, int]
    cpu: float
    server_cpu: float  # seconds, warm-up included
    server_wall: float  # seconds the generator ran, warm-up included

    def describe(self, unit: str = "requests", per: int = 1) -> str:
        return (
            f"{self.rate * per:,.0f} {unit}/s ({self.requests * per:,} in {self.seconds:.2f} s), "
            f"latency p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, "
            f"max {self.max_ms:.1f} ms; server CPU {self.server_cpu_ms:.2f} ms a request, "
            f"{self.server_cpu / self.server_wall:.0%} of a core; "
            f"generator CPU {self.cpu:.0%} of a core"
        )

    @property
    def server_cpu_ms(self) -> float:
        return self.server_cpu / max(self.answered, 1) * 1000

    def require(self, status: int) -> None:
        unexpected = {s: n for s, n in self.statuses.items() if s != str(status)}
        if unexpected:
            raise SystemExit(f"answers other than {status}: {unexpected}")


def run_load(
    server: Service,
    path: str,
    folder: Path,
    *,
    concurrency: int,
    template: bytes | None = None,
    bodies: list[bytes] | None = None,
    warmup: float = 3.0,
    duration: float = 10.0,
    warmup_count: int = 0,
) -> Load:
    """Run bench.load against `server` in its own process: for `duration` s from a template, or
    once per body; the server's CPU is measured over the same run."""
    command = [sys.executable, "-m", "bench.load", server.url + path]
    command += ["--concurrency", str(concurrency)]
    if template is not None:
        file = folder / "template.txt"
        file.write_bytes(template)
        command += ["--template", str(file), "--warmup", str(warmup), "--duration", str(duration)]
    else:
        assert bodies is not None
        file = folder / "bodies.txt"
        file.write_bytes(b"\n".join(bodies))
        command += ["--bodies", str(file), "--warmup-count", str(warmup_count)]
    cpu, wall = server.cpu_seconds(), time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=_environment({}), capture_output=True, check=True)
    cpu, wall = server.cpu_seconds() - cpu, time.perf_counter() - wall
    return Load(**json.loads(done.stdout), server_cpu=cpu, server_wall=wall)


def machine_load() -> str:
    """The load average, printed with the figures: this machine has 2 cores, shared."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"
