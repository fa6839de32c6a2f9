"""`smsbridge portal add --smsru-api-id` (the key checked first) and `smsbridge portal forget`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlmodel import Session, select

from models import Portal
from models.database import make_sync_engine
from sandbox.server import BackgroundServer
from sandbox.smsru import SmsRuEmulator
from smsbridge.endpoints import callback_path

KEY = "tenant-cli-key-CCCC-3333"
MASTER = "cli-master-secret-0123456789"
PUBLIC = "https://bridge.example.com"
CONTRACT = ("DATABASE_URL", "WEBHOOK_SECRET", "SMSRU_API_ID", "SMSRU_API_URL", "PUBLIC_URL")


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it, with only `env` of the contract's variables set."""
    base = {key: value for key, value in os.environ.items() if key not in CONTRACT}
    command = [str(Path(sys.executable).with_name("smsbridge")), *args]
    return subprocess.run(
        command, cwd=cwd, env=base | env, capture_output=True, text=True, timeout=60
    )


def stored(tmp_path: Path) -> list[Portal]:
    engine = make_sync_engine(f"sqlite:///{tmp_path / 'smsbridge.db'}")
    with Session(engine) as session:
        portals = list(session.exec(select(Portal)).all())
    engine.dispose()
    return portals


def test_portal_add_checks_the_key_and_registers_our_callback(
    tmp_path: Path, smsru_server: tuple[SmsRuEmulator, BackgroundServer]
) -> None:
    emulator, server = smsru_server
    env = {"SMSRU_API_URL": server.url, "WEBHOOK_SECRET": MASTER, "PUBLIC_URL": PUBLIC}
    wrong = run(["portal", "add", "member-1", "--smsru-api-id", "not-a-key"], tmp_path, **env)
    assert wrong.returncode == 2, wrong.stderr
    assert "SMS.ru refused the key" in wrong.stderr and "200" in wrong.stderr
    assert "not-a-key" not in wrong.stderr + wrong.stdout
    assert [p.member_id for p in stored(tmp_path)] == []

    if not emulator.knows(KEY):
        emulator.add_account(KEY)
    try:
        added = run(["portal", "add", "member-1", "--smsru-api-id", KEY], tmp_path, **env)
        assert added.returncode == 0, added.stderr
        assert emulator.callbacks(KEY) == [PUBLIC + callback_path(MASTER)]
        [portal] = stored(tmp_path)
        assert portal.smsru_api_id == KEY
        again = run(["portal", "add", "member-1", "--smsru-api-id", KEY], tmp_path, **env)
        assert again.returncode == 0 and emulator.callbacks(KEY) == [PUBLIC + callback_path(MASTER)]
    finally:
        for url in emulator.callbacks(KEY):
            emulator.remove_callback(KEY, url)


def test_portal_forget_erases_the_portal(tmp_path: Path) -> None:
    assert run(["portal", "add", "member-2"], tmp_path).returncode == 0
    forgotten = run(["portal", "forget", "member-2"], tmp_path)
    assert forgotten.returncode == 0, forgotten.stderr
    assert stored(tmp_path) == []
    missing = run(["portal", "forget", "member-2"], tmp_path)
    assert missing.returncode == 1 and "no portal member-2" in missing.stderr
