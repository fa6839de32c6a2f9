"""`smsbridge run`: the whole product in the foreground, stopped together by Ctrl-C.

The Prefect server (UI on :4200), the served flow deployments, and the webhook with its workers.
Whatever has no credentials is replaced by the sandbox: the SMS.ru emulator (:8001) when
`SMSRU_API_ID` is unset, a Bitrix24 portal emulator (:8002) installed through our real install
endpoint when `BITRIX24_CLIENT_ID` is unset — so that a user can watch a message travel.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import uvicorn
from pydantic import SecretStr
from rich.console import Console

from models.migrate import upgrade
from sandbox.bitrix24.portal import PortalEmulator
from sandbox.smsru.serve import SANDBOX_API_ID
from smsbridge import logs
from smsbridge.config import SANDBOX_ENV_FILE, Settings

PREFECT_PORT = 4200
SMSRU_PORT = 8001
PORTAL_PORT = 8002
STARTUP_TIMEOUT = 120.0

console = Console(stderr=True)


def run_stack(settings: Settings, host: str, port: int, *, prefect: bool = True) -> None:
    logs.configure()
    upgrade(settings.database)
    with ExitStack() as stack:
        settings, portal = _sandbox(stack, settings, port)
        env = _flow_environment(settings)
        if settings.smsru_key == SANDBOX_API_ID or portal is not None:
            _share_sandbox(stack, env)
        if prefect:
            stack.enter_context(_prefect_server(env))
            stack.enter_context(_process([sys.executable, "-m", "deployments.serve"], env))
        if portal is not None:
            threading.Thread(target=_install, args=(portal, settings, port), daemon=True).start()
        from webhook.app import create_app

        uvicorn.run(create_app(settings), host=host, port=port, access_log=False, log_config=None)


def _sandbox(
    stack: ExitStack, settings: Settings, port: int
) -> tuple[Settings, PortalEmulator | None]:
    portal = None
    if settings.smsru_key is None:
        from sandbox.smsru.serve import start_emulator

        _, server = start_emulator(SMSRU_PORT)
        stack.callback(server.stop)
        settings = settings.replace(
            smsru_api_url=server.url, smsru_api_id=SecretStr(SANDBOX_API_ID)
        )
        console.print(f"sandbox: SMS.ru emulator at {server.url} (no SMSRU_API_ID set)")
    if settings.bitrix24_client_id is None:
        from sandbox.bitrix24.serve import start_portal

        portal, server = start_portal(PORTAL_PORT)
        stack.callback(server.stop)
        settings = settings.replace(
            bitrix24_client_id=portal.client_id,
            bitrix24_client_secret=SecretStr(portal.client_secret),
            bitrix24_oauth_url=server.url,
            public_url=f"http://127.0.0.1:{port}",
        )
        console.print(f"sandbox: Bitrix24 portal emulator at {server.url} (no BITRIX24_CLIENT_ID)")
    return settings, portal


def _share_sandbox(stack: ExitStack, env: dict[str, str]) -> None:
    """Let commands run beside us (`smsbridge report`, `validate-broadcast` …) use the sandbox."""
    names = (
        "SMSRU_API_ID",
        "SMSRU_API_URL",
        "BITRIX24_CLIENT_ID",
        "BITRIX24_CLIENT_SECRET",
        "BITRIX24_OAUTH_URL",
        "PUBLIC_URL",
    )
    path = Path(SANDBOX_ENV_FILE)
    path.write_text("".join(f"{name}={env[name]}\n" for name in names if env.get(name)))
    path.chmod(0o600)
    stack.callback(path.unlink, missing_ok=True)


def _install(portal: PortalEmulator, settings: Settings, port: int) -> None:
    """Install the sandbox portal through the real endpoint once the webhook answers."""
    base = f"http://127.0.0.1:{port}"
    if not _wait_until_up(f"{base}/healthz"):
        console.print(
            "[red]sandbox: the webhook did not come up; the portal is not installed[/red]"
        )
        return
    answer = portal.install(f"{base}/bitrix24/install")
    if answer.status_code != 200:
        console.print(f"[red]sandbox: install failed: {answer.text}[/red]")
        return
    console.print(
        "\n[bold green]smsbridge is up[/bold green]\n"
        f"  Prefect UI       http://127.0.0.1:{PREFECT_PORT}  (deployments and their schedules)\n"
        f"  webhook          {base}/healthz\n"
        f"  sandbox portal   {settings.bitrix24_oauth_url}  (installed, provider 'smsru')\n"
        "  try it:          .venv/bin/smsbridge sandbox send +79255070602 'Привет!'\n"
        "                   .venv/bin/smsbridge sandbox campaign --count 20\n"
    )


def _flow_environment(settings: Settings) -> dict[str, str]:
    """The environment of the flow processes: the same configuration the webhook runs with."""
    values = {
        "DATABASE_URL": settings.database_url,
        "PUBLIC_URL": settings.public_base,
        "SMSRU_API_URL": settings.smsru_base,
        "SMSRU_API_ID": settings.smsru_key or "",
        "SMSRU_SENDER": settings.smsru_sender or "",
        "SMSRU_TEST": "1" if settings.smsru_test else "0",
        "BITRIX24_CLIENT_ID": settings.bitrix24_client_id or "",
        "BITRIX24_CLIENT_SECRET": (
            settings.bitrix24_client_secret.get_secret_value()
            if settings.bitrix24_client_secret
            else ""
        ),
        "BITRIX24_OAUTH_URL": str(settings.bitrix24_oauth_url).rstrip("/"),
        "PREFECT_API_URL": f"http://127.0.0.1:{PREFECT_PORT}/api",
        "PREFECT_HOME": str(Path.cwd() / ".prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    return os.environ | values


@contextmanager
def _prefect_server(env: dict[str, str]) -> Iterator[None]:
    health = f"http://127.0.0.1:{PREFECT_PORT}/api/health"
    if _wait_until_up(health, timeout=0.5):
        console.print(f"Prefect server already running on :{PREFECT_PORT}; using it")
        yield
        return
    prefect = str(Path(sys.executable).with_name("prefect"))
    command = [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(PREFECT_PORT)]
    with _process(command, env):
        if not _wait_until_up(health):
            raise RuntimeError(f"the Prefect server did not answer at {health}")
        yield


@contextmanager
def _process(command: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(command, env=env)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_until_up(url: str, timeout: float = STARTUP_TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            return False
        time.sleep(0.3)
