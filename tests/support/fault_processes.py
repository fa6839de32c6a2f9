"""`smsbridge` server processes for the scenario tests: start, wait, kill, read their logs.

A process (unlike the in-process server of the fixtures) can be SIGKILLed mid-send, and two of them
are two replicas with their own connections, workers and worker names. A process runs one role:
`webhook` (intake and workers), `webhook --no-workers` (intake only) or `worker`. Each one's output
goes to a file so that a failing test can show what the process said.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.bitrix24.portal import PortalEmulator
from sandbox.server import free_port
from smsbridge.config import Settings, without_contract
from support.identities import SECRET, SMSRU_KEY

SMSBRIDGE = str(Path(sys.executable).with_name("smsbridge"))
WEBHOOK = ("webhook",)
INTAKE_ONLY = ("webhook", "--no-workers")
WORKER = ("worker",)
ALARMS = ("WARNING", "ERROR", "CRITICAL")


def environment(**values: str) -> dict[str, str]:
    """This process's environment without the contract's variables, plus `values`."""
    return without_contract(os.environ) | values


def contract(settings: Settings, bitrix24: PortalEmulator | None = None) -> dict[str, str]:
    """The contract's variables for the test's database, SMS.ru emulator and, given, portal."""
    values = {
        "DATABASE_URL": settings.database_url,
        "WEBHOOK_SECRET": SECRET,
        "SMSRU_API_ID": SMSRU_KEY,
        "SMSRU_API_URL": settings.smsru_base,
    }
    if bitrix24 is not None:
        values |= {
            "BITRIX24_CLIENT_ID": bitrix24.client_id,
            "BITRIX24_CLIENT_SECRET": bitrix24.client_secret,
            "BITRIX24_OAUTH_URL": bitrix24.oauth_url,
        }
    return values


class SmsbridgeProcess:
    """One `smsbridge <role>` process on loopback; `PUBLIC_URL` is its own address unless `env`
    names one (the proxy's, when several stand behind it)."""

    def __init__(
        self,
        name: str,
        workdir: Path,
        env: dict[str, str],
        port: int | None = None,
        role: Sequence[str] = WEBHOOK,
    ) -> None:
        self.workdir = workdir  # the cwd: no stray .env is read
        self.env = env
        self.port = port or free_port()
        self.role = tuple(role)
        self.log_path = workdir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def command(self) -> list[str]:
        return [SMSBRIDGE, *self.role, "--host", "127.0.0.1", "--port", str(self.port)]

    def launch(self) -> None:
        """Start the process without waiting (replicas start together, as they would)."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=self.workdir,
                env=environment(**({"PUBLIC_URL": self.url} | self.env)),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 60.0) -> SmsbridgeProcess:
        """Wait until `/healthz` answers 200; fail with the process's output if it never does."""
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + timeout
        while not self._healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"{self.role} on {self.url} did not start:\n{self.output()}")
            time.sleep(0.05)
        return self

    def health(self) -> dict[str, str]:
        return dict(httpx.get(self.url + "/healthz", timeout=5.0).json())

    def _healthy(self) -> bool:
        try:
            return httpx.get(self.url + "/healthz", timeout=2.0).status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        """SIGKILL: no shutdown, no grace; whatever was in flight stays as it was."""
        self._signal(signal.SIGKILL)

    def stop(self) -> int | None:
        """SIGTERM and wait (uvicorn lets work in flight finish); the exit code."""
        return self._signal(signal.SIGTERM)

    def _signal(self, signum: signal.Signals) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=15)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def summary(self, last: int = 15) -> str:
        """What a failing test shows of it: every warning and error it logged (a traceback's
        first line), then its last lines."""
        lines = self.output().splitlines()
        alarms = [line for line in lines if any(f" {w} " in line for w in ALARMS)]
        name = self.log_path.name
        shown = [f"--- {name}: warnings and errors ---", *alarms[-30:]]
        return "\n".join([*shown, f"--- {name}: last lines ---", *lines[-last:]])


def round_robin(upstreams: Sequence[str]) -> Starlette:
    """The TLS proxy's part, without TLS: each request goes to the next upstream in turn."""
    turn = itertools.cycle(upstreams)
    dropped = {"host", "content-length", "connection", "transfer-encoding", "content-encoding"}
    http = httpx.AsyncClient(timeout=30.0)

    async def forward(request: Request) -> Response:
        url = next(turn) + request.url.path
        if request.url.query:
            url += "?" + request.url.query
        headers = {k: v for k, v in request.headers.items() if k.lower() not in dropped}
        try:
            answer = await http.request(
                request.method, url, content=await request.body(), headers=headers
            )
        except httpx.TransportError:
            return Response("upstream unreachable", status_code=502)
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in dropped}
        return Response(answer.content, answer.status_code, headers=kept)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with http:
            yield

    methods = ["GET", "POST"]
    return Starlette(routes=[Route("/{path:path}", forward, methods=methods)], lifespan=lifespan)
