"""Run an ASGI app under uvicorn on loopback in a background thread.

Tests and the sandbox use it to talk to the emulators and the webhook over real HTTP.

Ports: a `BackgroundServer` binds its socket when it is made, so its port is its own from then on
(nothing can take it between choosing and serving). A port that another process must bind
(`smsbridge run --port N` in a test) comes from `free_port`, which picks it below the kernel's
range for outgoing connections: there, no connection of ours or of anyone's can take it first.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp

EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST_PORT = 10_000


def free_port(host: str = "127.0.0.1") -> int:
    """A port free now, for a server another process will start: random, and below the range the
    kernel takes outgoing connections' ports from, so only another such pick can collide."""
    top = _ephemeral_start() - 1
    for port in random.sample(range(LOWEST_PORT, top + 1), 200):
        with socket.socket() as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port between {LOWEST_PORT} and {top} on {host}")


def _ephemeral_start() -> int:
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default


def bound_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A socket bound to `port` (any free one for 0), for a server to serve on."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class BackgroundServer:
    """`with BackgroundServer(app) as server: httpx.get(server.url + "/healthz")`.

    `port`: that port, or a free one; `sock`: a socket bound already (see `bound_socket`), for a
    caller that needs the port before it can make the app."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        sock: socket.socket | None = None,
    ) -> None:
        self._socket = sock or bound_socket(host, port or 0)
        self.host, self.port = self._socket.getsockname()[:2]
        config = uvicorn.Config(
            app,
            host=self.host,
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="on",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"server on {self.url} did not start")
            time.sleep(0.01)

    def stop(self, timeout: float = 60.0) -> None:
        """Stop, and wait until it has: a server left running would go on working behind us."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise RuntimeError(f"server on {self.url} did not stop within {timeout:.0f} s")
        self._socket.close()

    def __enter__(self) -> BackgroundServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
