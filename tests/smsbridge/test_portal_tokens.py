"""Refreshing a portal's tokens: serialized across processes, stored before use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from models import Portal
from models.types import utcnow
from sandbox.bitrix24.portal import PortalEmulator
from smsbridge.config import Settings

RACER = Path(__file__).with_name("refresh_race.py")


def stored_portal(engine: Engine, bitrix24: PortalEmulator) -> Portal:
    issued = bitrix24.issue_tokens()
    with Session(engine) as session:
        portal = Portal(
            member_id=bitrix24.member_id,
            client_endpoint=bitrix24.client_endpoint,
            access_token=issued["access_token"],
            refresh_token=issued["refresh_token"],
            access_expires_at=utcnow(),
        )
        session.add(portal)
        session.commit()
        session.refresh(portal)
        return portal


def test_four_processes_refreshing_at_once_make_one_refresh_call(
    engine: Engine, bitrix24: PortalEmulator, settings: Settings, tmp_path: Path
) -> None:
    portal = stored_portal(engine, bitrix24)
    bitrix24.expire_access_tokens()
    env = os.environ | {
        "DATABASE_URL": settings.database_url,
        "BITRIX24_CLIENT_ID": bitrix24.client_id,
        "BITRIX24_CLIENT_SECRET": bitrix24.client_secret,
        "BITRIX24_OAUTH_URL": bitrix24.base_url,
    }
    go = tmp_path / "go"
    racers = [
        subprocess.Popen(
            [sys.executable, str(RACER), str(portal.id), str(go)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for racer in racers:
        assert racer.stdout is not None
        assert racer.stdout.readline().strip() == "ready"
    go.touch()
    outputs = [racer.communicate(timeout=60) for racer in racers]
    assert [racer.returncode for racer in racers] == [0] * 4, [err for _, err in outputs]
    tokens = {out.strip() for out, _ in outputs}
    assert bitrix24.refresh_calls == 1
    assert len(tokens) == 1  # every process uses the one new pair
    with Session(engine) as session:
        stored = session.get(Portal, portal.id)
        assert stored is not None and stored.access_token in tokens
        assert stored.auth_error is None
