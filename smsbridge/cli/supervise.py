"""`smsbridge run`: the whole product in the foreground, stopped together by Ctrl-C.

The Prefect server (UI on :4200), the served flow deployments, and the webhook with its workers.
Whatever has no credentials is replaced by the sandbox: the SMS.ru emulator (:8001) when
`SMSRU_API_ID` is unset, a Bitrix24 portal emulator (:8002) installed through our real install
endpoint when `BITRIX24_CLIENT_ID` is unset — so that a user can watch a message travel.

One `run` per directory: it holds a lock on `.smsbridge.run` (which also tells the commands run
beside it where the Prefect API is), and a second one says so and leaves the first alone.
"""

from __future__ import annotations

import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import IO, TYPE_CHECKING

import httpx
import uvicorn
from pydantic import SecretStr
from rich.console import Console
from rich.markup import escape

from models.migrate import upgrade
from smsbridge import logs
from smsbridge.cli.instance import Instance, Ports, RunLock
from smsbridge.cli.prefect_env import prefect_environment
from smsbridge.config import SANDBOX_ENV_FILE, Settings

if TYPE_CHECKING:  # the emulators load only when `run` starts them, not on every command
    from sandbox.bitrix24.portal import PortalEmulator

STARTUP_TIMEOUT = 120.0
STOP_TIMEOUT = 15.0

console = Console(stderr=True, soft_wrap=True)


class StackError(Exception):
    """`run` cannot start as asked (already running, a port taken); the text says what to do."""


def run_stack(settings: Settings, host: str, ports: Ports, *, prefect: bool = True) -> None:
    """Everything until Ctrl-C (or SIGTERM); raises StackError before starting anything."""
    with RunLock(Path.cwd()) as lock:
        sandbox_smsru = settings.smsru_key is None
        sandbox_portal = settings.bitrix24_client_id is None
        _check_ports(host, ports, prefect=prefect, smsru=sandbox_smsru, portal=sandbox_portal)
        logs.configure()
        upgrade(settings.database)
        lock.publish(Instance(os.getpid(), host, ports, prefect))
        signal.signal(signal.SIGTERM, _stop_on_sigterm)
        with suppress(KeyboardInterrupt):
            _run(settings, host, ports, prefect)
    console.print("smsbridge stopped")


def _run(settings: Settings, host: str, ports: Ports, prefect: bool) -> None:
    from sandbox.smsru.serve import SANDBOX_API_ID

    with ExitStack() as stack:
        configured = settings
        settings, portal = _sandbox(stack, settings, ports)
        env = _flow_environment(settings, ports)
        if settings.smsru_key == SANDBOX_API_ID or portal is not None:
            _share_sandbox(stack, _replaced(configured, settings))
        flows = stack.enter_context(_Flows(env, ports.prefect)) if prefect else None
        if portal is not None:
            threading.Thread(
                target=_install, args=(portal, settings, ports, flows), daemon=True
            ).start()
        from webhook.app import create_app

        uvicorn.run(
            create_app(settings), host=host, port=ports.webhook, access_log=False, log_config=None
        )


def _stop_on_sigterm(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _check_ports(host: str, ports: Ports, *, prefect: bool, smsru: bool, portal: bool) -> None:
    wanted = [("the webhook", host, ports.webhook, "--port")]
    if prefect and not _prefect_answers(ports.prefect):
        wanted.append(("the Prefect server", "127.0.0.1", ports.prefect, "--prefect-port"))
    if smsru:
        wanted.append(("the SMS.ru emulator", "127.0.0.1", ports.smsru, "--smsru-port"))
    if portal:
        wanted.append(("the sandbox portal", "127.0.0.1", ports.portal, "--portal-port"))
    for what, interface, port, option in wanted:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((interface, port))
            except OSError:
                raise StackError(
                    f"port {port} for {what} is in use by another program "
                    f"(another smsbridge elsewhere?); free it or choose another with {option}"
                ) from None


def _sandbox(
    stack: ExitStack, settings: Settings, ports: Ports
) -> tuple[Settings, PortalEmulator | None]:
    portal = None
    if settings.smsru_key is None:
        from sandbox.smsru.serve import SANDBOX_API_ID, start_emulator

        _, server = start_emulator(ports.smsru)
        stack.callback(server.stop)
        settings = settings.replace(
            smsru_api_url=server.url, smsru_api_id=SecretStr(SANDBOX_API_ID)
        )
        console.print(f"sandbox: SMS.ru emulator at {server.url} (no SMSRU_API_ID set)")
    if settings.bitrix24_client_id is None:
        from sandbox.bitrix24.frame import SHIM_PATH
        from sandbox.bitrix24.serve import start_portal
        from webhook.page.routes import APP_PATH

        portal, server = start_portal(ports.portal)
        stack.callback(server.stop)
        settings = settings.replace(
            bitrix24_client_id=portal.client_id,
            bitrix24_client_secret=SecretStr(portal.client_secret),
            bitrix24_oauth_url=portal.oauth_url,
            bitrix24_js_url=server.url + SHIM_PATH,  # no internet in the sandbox: its BX24
            public_url=f"http://127.0.0.1:{ports.webhook}",
        )
        portal.app_url = settings.public_base + APP_PATH  # what its page opens in the frame
        portal.installer_url = f"{portal.app_url}/install"
        console.print(f"sandbox: Bitrix24 portal emulator at {server.url} (no BITRIX24_CLIENT_ID)")
    return settings, portal


def _replaced(configured: Settings, sandboxed: Settings) -> dict[str, str]:
    """The variables the sandbox set (its emulators' keys and URLs), as the environment has them."""
    before = configured.environment()
    return {name: value for name, value in sandboxed.environment().items() if value != before[name]}


def _share_sandbox(stack: ExitStack, variables: dict[str, str]) -> None:
    """Let commands run beside us (`smsbridge report`, `validate-broadcast` …) use the sandbox."""
    path = Path(SANDBOX_ENV_FILE)
    path.write_text("".join(f"{name}={value}\n" for name, value in variables.items()))
    path.chmod(0o600)
    stack.callback(path.unlink, missing_ok=True)


def _install(
    portal: PortalEmulator, settings: Settings, ports: Ports, flows: _Flows | None
) -> None:
    """Install the sandbox portal through the real endpoint once the webhook answers; say
    where everything is once Prefect is up too."""
    base = f"http://127.0.0.1:{ports.webhook}"
    if not _wait_until_up(f"{base}/healthz"):
        console.print(
            "[red]sandbox: the webhook did not come up; the portal is not installed[/red]"
        )
        return
    answer = portal.install(f"{base}/bitrix24/install")
    if answer.status_code != 200:
        console.print(f"[red]sandbox: install failed: {answer.text}[/red]")
        return
    from sandbox.smsru.serve import SANDBOX_API_ID

    if flows is not None:
        flows.settled.wait()  # however long Prefect takes on this machine (it says if slow)
        if not flows.ready.is_set():
            return  # _Flows said why
    console.print(
        "\n[bold green]smsbridge is up[/bold green]\n"
        f"  Prefect UI       http://127.0.0.1:{ports.prefect}  (deployments, runs, artifacts)\n"
        f"  webhook          {base}/healthz\n"
        f"  the app          {portal.base_url}  (the sandbox portal with our app in its frame:"
        " settings, test send, analytics; ?user=2 an employee, ?lang=en English)\n"
        f"  sandbox portal   {portal.base_url}/_sandbox/  (installed, provider 'smsru';"
        " its messages)\n"
        f"  sandbox SMS.ru   {settings.smsru_base}/my/balance?api_id={SANDBOX_API_ID}&json=1\n"
        "  try it:          .venv/bin/smsbridge sandbox send +79255070602 'Привет!'\n"
        "                   .venv/bin/smsbridge sandbox campaign --count 20\n"
        "                   .venv/bin/smsbridge report\n"
    )


def _flow_environment(settings: Settings, ports: Ports) -> dict[str, str]:
    """The environment of the flow processes: the same configuration the webhook runs with."""
    return (
        os.environ
        | settings.environment()
        | prefect_environment(ports.prefect, Path.cwd() / ".prefect")
    )


def _prefect_answers(port: int) -> bool:
    return _wait_until_up(f"http://127.0.0.1:{port}/api/health", timeout=0.5)


class _Flows:
    """The Prefect server and the served deployments, started beside the webhook rather than
    before it: Prefect takes half a minute to start, and intake should not wait for it."""

    def __init__(self, env: dict[str, str], port: int) -> None:
        self.env, self.port = env, port
        self.ready = threading.Event()  # the deployments are served, poll-statuses started
        self.settled = threading.Event()  # ready, or given up (and said why)
        self._stopping = threading.Event()
        self._said_exit = threading.Event()
        self._children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self._lock = threading.Lock()

    def __enter__(self) -> _Flows:
        if _prefect_answers(self.port):
            console.print(f"Prefect server already running on :{self.port}; using it")
        else:
            prefect = str(Path(sys.executable).with_name("prefect"))
            port = str(self.port)
            self._start(
                "the Prefect server",
                [prefect, "server", "start", "--host", "127.0.0.1", "--port", port],
            )
        threading.Thread(target=self._serve_when_up, daemon=True).start()
        return self

    def _serve_when_up(self) -> None:
        try:
            self._start_serving()
        finally:
            self.settled.set()

    def _start_serving(self) -> None:
        health = f"http://127.0.0.1:{self.port}/api/health"
        if not _wait_until_up(health, self._given_up):
            if self._given_up():
                return
            console.print(
                f"[yellow]the Prefect server on :{self.port} is slow to start; waiting[/yellow]"
            )
            if not _wait_until_up(health, self._given_up, timeout=math.inf):
                return
        if not self._start("the flow deployments", [sys.executable, "-m", "deployments.serve"]):
            return
        if self._poll_now():
            self.ready.set()

    def _exited(self) -> str | None:
        """Which child has exited on its own, if one has (said once, in red)."""
        with self._lock:
            children = list(self._children)
        for name, child in children:
            if child.poll() is not None and not self._stopping.is_set():
                if not self._said_exit.is_set():
                    self._said_exit.set()
                    console.print(
                        f"[red]{name} exited with code {child.returncode};"
                        " its log is above. The webhook goes on without the flows.[/red]"
                    )
                return name
        return None

    def _given_up(self) -> bool:
        return self._stopping.is_set() or self._exited() is not None

    def _poll_now(self) -> bool:
        """Start `poll-statuses` now: its schedule's first run is an hour after serving starts.
        Until the deployment is registered, and again if the server refuses the run (a busy
        Prefect on SQLite answers "database is locked"), ask again every half second."""
        api = f"http://127.0.0.1:{self.port}/api"
        warn_at = time.monotonic() + STARTUP_TIMEOUT
        waiting_for = "the flow deployments to register"
        while not self._stopping.wait(0.5) and self._exited() is None:
            if time.monotonic() > warn_at:
                console.print(f"[yellow]still waiting for {escape(waiting_for)}[/yellow]")
                warn_at = float("inf")
            try:
                found = httpx.get(f"{api}/deployments/name/poll-statuses/poll-statuses", timeout=30)
                if found.status_code != 200:
                    continue
                url = f"{api}/deployments/{found.json()['id']}/create_flow_run"
                started = httpx.post(url, json={}, timeout=30)
            except httpx.HTTPError as exc:
                waiting_for = f"the Prefect server ({type(exc).__name__})"
                continue
            if started.is_success:
                return True
            waiting_for = f"a first poll-statuses run (Prefect said {started.status_code})"
        return False

    def _start(self, name: str, command: list[str]) -> bool:
        with self._lock:
            if self._stopping.is_set():
                return False
            self._children.append((name, _spawn(command, self.env, self._stopping)))
            return True

    def __exit__(self, *_exc: object) -> None:
        with self._lock:
            self._stopping.set()
        self.settled.set()
        for _, child in reversed(self._children):  # the deployments first, then their server
            _stop(child)


def _spawn(
    command: list[str], env: dict[str, str], quiet: threading.Event
) -> subprocess.Popen[bytes]:
    """A child in its own session: the terminal's Ctrl-C reaches us alone, and we stop it with
    SIGTERM after the webhook (no KeyboardInterrupt traceback from it). Its stdout is dropped:
    Prefect's banners advise `prefect config set` and `prefect deployment run`, which do not
    work as written beside `run` (our banner says where things are); its log comes to our stderr
    until `quiet` is set, when we stop it: what it says then is its dying, not news (a Prefect
    server stopped mid-query logs its cancelled rollback as a traceback)."""
    child = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    assert child.stderr is not None
    threading.Thread(target=_forward, args=(child.stderr, quiet), daemon=True).start()
    return child


def _forward(stream: IO[bytes], quiet: threading.Event) -> None:
    out = sys.stderr.buffer
    for line in iter(stream.readline, b""):
        if not quiet.is_set():
            out.write(line)
            out.flush()


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_until_up(
    url: str, given_up: Callable[[], bool] = lambda: False, timeout: float = STARTUP_TIMEOUT
) -> bool:
    deadline = time.monotonic() + timeout
    while not given_up():
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            return False
        time.sleep(0.3)
    return False
