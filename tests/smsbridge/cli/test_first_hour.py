"""The first hour's mistakes, as a user makes them: a real process, its exit code and its words.

No traceback anywhere: every failure is one line saying what is wrong and what to do.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sandbox.server import BackgroundServer, free_port
from smsbridge.config import without_contract

SMSBRIDGE = str(Path(sys.executable).with_name("smsbridge"))


def smsbridge(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in without_contract(os.environ).items() if not k.startswith("PREFECT_")}
    return subprocess.run(
        [SMSBRIDGE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def one_clean_line(result: subprocess.CompletedProcess[str]) -> str:
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert len(output.strip().splitlines()) == 1, output
    return output.strip()


def test_portal_list_in_a_fresh_directory_says_what_to_do(tmp_path: Path) -> None:
    result = smsbridge("portal", "list", cwd=tmp_path)
    assert result.returncode == 1
    line = one_clean_line(result)
    assert f"no smsbridge database at {tmp_path / 'smsbridge.db'}" in line
    assert "smsbridge db upgrade" in line
    assert not (tmp_path / "smsbridge.db").exists()  # a read command creates nothing


def test_commands_name_the_database_they_use(tmp_path: Path) -> None:
    upgraded = smsbridge("db", "upgrade", cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"database {tmp_path / 'smsbridge.db'} is current" in one_clean_line(upgraded)
    listed = smsbridge("portal", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert f"portals in {tmp_path / 'smsbridge.db'}" in listed.stderr


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["report", "--day", "2026-13-01"], "YYYY-MM-DD, today or yesterday"),
        (["normalize", "--entity", "deal"], "--entity must be one of contact, lead"),
        (["normalize", "--region", "Russia"], "region"),
        (["validate-broadcast", "hi", "--filter", "{}"], "give --crm too"),
        (["flow", "run", "nightly"], "no deployment 'nightly'"),
        (["flow", "run", "daily-report", "--param", "day"], "--param needs key=value"),
        (["sandbox", "campaign", "--count", "0"], "--count must be at least 1"),
    ],
)
def test_bad_arguments_are_refused_before_anything_starts(
    tmp_path: Path, args: list[str], reason: str
) -> None:
    result = smsbridge(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert reason in one_clean_line(result)
    assert not (tmp_path / "smsbridge.db").exists()  # refused before any migration


def test_flags_read_as_flags(tmp_path: Path) -> None:
    shown = smsbridge("normalize", "--help", cwd=tmp_path)
    assert shown.returncode == 0
    assert "--apply / --dry-run" in shown.stdout
    assert "<bool>" not in shown.stdout
    run_help = smsbridge("run", "--help", cwd=tmp_path).stdout
    assert "--prefect / --no-prefect" in run_help and "<bool>" not in run_help


def test_flow_run_without_a_running_stack_says_so(tmp_path: Path) -> None:
    result = smsbridge("flow", "run", "daily-report", cwd=tmp_path)
    assert result.returncode == 1
    assert "no `smsbridge run` is running in this directory" in one_clean_line(result)


def test_sandbox_send_without_make_run_says_so(tmp_path: Path) -> None:
    port = free_port()
    result = smsbridge(
        "sandbox", "send", "+79255070602", "привет", "--portal", f"http://127.0.0.1:{port}",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1
    assert f"no sandbox portal at http://127.0.0.1:{port}" in one_clean_line(result)


def test_a_slow_webhook_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    """The portal answers only once our HANDLER has; a stuck webhook must not end in 200 lines."""

    released = threading.Event()

    async def stuck(_request: Request) -> JSONResponse:
        await asyncio.to_thread(released.wait, 30)  # until the command has given up
        return JSONResponse({})

    with BackgroundServer(
        Starlette(routes=[Route("/_sandbox/send", stuck, methods=["POST"])])
    ) as s:
        result = smsbridge(
            "sandbox", "send", "+79255070602", "привет", "--portal", s.url, "--timeout", "2",
            cwd=tmp_path,
        )  # fmt: skip
        released.set()
    assert result.returncode == 1
    assert "did not answer within 2 s: our webhook is slow" in one_clean_line(result)


@pytest.mark.timeout(180)
def test_run_says_when_the_prefect_server_exits_and_the_webhook_goes_on(tmp_path: Path) -> None:
    """A Prefect that cannot start (here: a database it cannot open) is named at once, in one
    line, and the webhook keeps taking messages; nothing waits for a banner that cannot come."""
    env = {k: v for k, v in without_contract(os.environ).items() if not k.startswith("PREFECT_")}
    env["PREFECT_API_DATABASE_CONNECTION_URL"] = "sqlite+aiosqlite:////proc/no-such/prefect.db"
    webhook, prefect, smsru, portal = (free_port() for _ in range(4))
    ports = ["--port", str(webhook), "--prefect-port", str(prefect)]
    ports += ["--smsru-port", str(smsru), "--portal-port", str(portal)]
    log = tmp_path / "run.log"
    with log.open("w") as out:
        stack = subprocess.Popen(
            [SMSBRIDGE, "run", *ports], cwd=tmp_path, env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 150
        while "the Prefect server exited with code" not in log.read_text():
            assert stack.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        assert httpx.get(f"http://127.0.0.1:{webhook}/healthz", timeout=10).status_code == 200
    finally:
        stack.send_signal(signal.SIGINT)
        stack.wait(timeout=60)
    output = log.read_text()
    assert stack.returncode == 0, output
    assert "The webhook goes on without the flows." in output
    assert "smsbridge is up" not in output
    assert output.rstrip().endswith("smsbridge stopped"), output[-2000:]
