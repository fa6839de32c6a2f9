"""The command line, run as a user runs it: a real process, its exit code and its output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import inspect
from support import MEMBER_ID, SECRET, SMSRU_KEY, wait_for
from support.fault_processes import INTAKE_ONLY, WORKER, SmsbridgeProcess

from models.database import make_sync_engine
from models.portal import Portal
from sandbox.bitrix24.messages import encode, message_fields
from sandbox.server import BackgroundServer, free_port
from sandbox.smsru import SmsRuEmulator
from smsbridge.config import Settings
from smsbridge.endpoints import portal_handler_path

SMSBRIDGE = str(Path(sys.executable).with_name("smsbridge"))


def environment(**values: str) -> dict[str, str]:
    names = ("DATABASE_URL", "WEBHOOK_SECRET", "SMSRU_API_ID", "SMSRU_API_URL", "PUBLIC_URL")
    base = {key: value for key, value in os.environ.items() if key not in names}
    return base | values


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SMSBRIDGE, *args],
        cwd=cwd,
        env=environment(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_db_upgrade_creates_the_tables(tmp_path: Path) -> None:
    result = run(["db", "upgrade"], tmp_path)
    assert result.returncode == 0, result.stderr
    engine = make_sync_engine(f"sqlite:///{tmp_path / 'smsbridge.db'}")
    assert {"portals", "messages", "status_log", "settings"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()


def test_invalid_configuration_names_the_variable(tmp_path: Path) -> None:
    result = run(["db", "upgrade"], tmp_path, PUBLIC_URL="not a url")
    assert result.returncode == 2
    assert "PUBLIC_URL" in result.stderr


def test_portal_add_and_list(tmp_path: Path) -> None:
    added = run(["portal", "add", "member-1", "--domain", "shop.bitrix24.ru"], tmp_path)
    assert added.returncode == 0, added.stderr
    listed = run(["portal", "list"], tmp_path)
    assert "member-1" in listed.stdout and "shop.bitrix24.ru" in listed.stdout


def test_webhook_command_serves_sends_and_stops_cleanly(
    tmp_path: Path,
    settings: Settings,
    portal: Portal,
    smsru: SmsRuEmulator,
    smsru_server: tuple[SmsRuEmulator, BackgroundServer],
    engine: object,
) -> None:
    port = free_port()
    process = subprocess.Popen(
        [SMSBRIDGE, "webhook", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=environment(
            DATABASE_URL=settings.database_url,
            WEBHOOK_SECRET=SECRET,
            SMSRU_API_ID=SMSRU_KEY,
            SMSRU_API_URL=smsru_server[1].url,
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "webhook did not start"
            time.sleep(0.1)
        body = encode(message_fields("crm", "+79255070602", "из отдельного процесса"))
        response = httpx.post(
            base + portal_handler_path(MEMBER_ID, SECRET),
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 200, response.text
        wait_for(lambda: len(smsru.sent) == 1)
        assert smsru.sent[0].text == "из отдельного процесса"
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert process.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
    assert "message accepted" in output
    assert "/bitrix24/handler/" + MEMBER_ID + "/***" in output  # the access log masks the secret
    assert SECRET not in output
    assert SMSRU_KEY not in output


def test_intake_and_worker_processes_apart(
    tmp_path: Path,
    settings: Settings,
    portal: Portal,
    smsru: SmsRuEmulator,
    smsru_server: tuple[SmsRuEmulator, BackgroundServer],
) -> None:
    """`webhook --no-workers` stores and answers but sends nothing; `worker` sends what it stored.
    On SQLite too: both processes share the file (one host), the worker finding work by polling."""
    env = {
        "DATABASE_URL": settings.database_url,
        "WEBHOOK_SECRET": SECRET,
        "SMSRU_API_ID": SMSRU_KEY,
        "SMSRU_API_URL": smsru_server[1].url,
    }
    web = SmsbridgeProcess("web", tmp_path, env, role=INTAKE_ONLY)
    worker = SmsbridgeProcess("worker", tmp_path, env, role=WORKER)
    web.launch()
    try:
        web.wait_ready()
        assert web.health() == {"status": "ok", "database": "ok"}  # no workers to report
        body = encode(message_fields("crm", "+79255070602", "принят, отправит другой"))
        response = httpx.post(
            web.url + portal_handler_path(MEMBER_ID, SECRET),
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["state"] == "queued"
        time.sleep(1.5)  # longer than a sender's idle poll: one in this process would have sent
        assert smsru.sent == []
        worker.launch()
        worker.wait_ready()
        assert worker.health() == {
            "status": "ok",
            "database": "ok",
            "sender": "running",
            "pusher": "running",
        }
        assert httpx.post(worker.url + portal_handler_path(MEMBER_ID, SECRET)).status_code == 404
        wait_for(lambda: len(smsru.sent) == 1)
        assert smsru.sent[0].text == "принят, отправит другой"
    finally:
        codes = (web.stop(), worker.stop())
    assert set(codes) <= {0, -signal.SIGTERM}, web.output() + worker.output()
    assert "sent batch" in worker.output() and "sent batch" not in web.output()
    listening = "listening for wake-ups" in worker.output()
    assert listening == settings.database_url.startswith("postgresql")


@pytest.mark.parametrize(
    "command", [["--help"], ["webhook", "--help"], ["worker", "--help"], ["run", "--help"]]
)
def test_help(tmp_path: Path, command: list[str]) -> None:
    result = run(command, tmp_path)
    assert result.returncode == 0
    assert "Usage" in result.stdout
