"""`smsbridge webhook` as a real process for the fault tests: start, wait, kill, read its log.

A process (unlike the in-process server of the fixtures) can be SIGKILLed mid-send, and two of them
are two replicas with their own connections, workers and worker names. Each one's output goes to a
file so that a failing test can show what the process said.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from sandbox.server import free_port
from smsbridge.config import without_contract

SMSBRIDGE = str(Path(sys.executable).with_name("smsbridge"))


def environment(**values: str) -> dict[str, str]:
    """This process's environment without the contract's variables, plus `values`."""
    return without_contract(os.environ) | values


class WebhookProcess:
    """One `smsbridge webhook` process on loopback; `PUBLIC_URL` is its own address."""

    def __init__(
        self, name: str, workdir: Path, env: dict[str, str], port: int | None = None
    ) -> None:
        self.workdir = workdir  # the cwd: no stray .env is read
        self.env = env
        self.port = port or free_port()
        self.log_path = workdir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> None:
        """Start the process without waiting (replicas start together, as they would)."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [SMSBRIDGE, "webhook", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=self.workdir,
                env=environment(**self.env, PUBLIC_URL=self.url),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 60.0) -> WebhookProcess:
        """Wait until `/healthz` answers 200; fail with the process's output if it never does."""
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + timeout
        while not self._healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"webhook on {self.url} did not start:\n{self.output()}")
            time.sleep(0.05)
        return self

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
