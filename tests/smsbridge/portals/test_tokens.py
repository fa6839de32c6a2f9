"""Refreshing a portal's tokens: serialized across processes, stored before use."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from clients.bitrix24.errors import OAuthError
from models import Portal
from models.types import utcnow
from sandbox.bitrix24.portal import PortalEmulator
from smsbridge.config import Settings
from smsbridge.portals.tokens import (
    NOT_INSTALLED,
    PortalNotAuthorized,
    PortalTokens,
    callable_clause,
    token_pair,
    why_not_callable,
)
from smsbridge.runtime import runtime

RACER = Path(__file__).parents[2] / "support" / "refresh_race.py"


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
        "BITRIX24_OAUTH_URL": bitrix24.oauth_url,
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


CASES = [
    # (access_token, refresh_token, auth_error) → why it cannot be called
    (("a", "r", None), None),
    ((None, None, None), NOT_INSTALLED),
    (("a", None, None), NOT_INSTALLED),
    ((None, "r", None), NOT_INSTALLED),
    (("a", "r", "payment required"), "payment required"),
    ((None, None, "revoked"), "revoked"),
]


@pytest.mark.parametrize(("tokens", "why"), CASES)
def test_why_a_portal_cannot_be_called(
    tokens: tuple[str | None, str | None, str | None], why: str | None
) -> None:
    access, refresh, error = tokens
    portal = Portal(member_id="m1", access_token=access, refresh_token=refresh, auth_error=error)
    assert why_not_callable(portal) == why
    if why is None:
        assert token_pair(portal).access_token == "a"
    else:
        with pytest.raises(PortalNotAuthorized, match=f"^portal m1 cannot be called: {why}$"):
            token_pair(portal)


def test_the_sql_clause_picks_the_portals_the_predicate_accepts(engine: Engine) -> None:
    with Session(engine) as session:
        for n, ((access, refresh, error), _) in enumerate(CASES):
            session.add(
                Portal(
                    member_id=f"m{n}", access_token=access, refresh_token=refresh, auth_error=error
                )
            )
        session.commit()
        every = session.exec(select(Portal)).all()
        chosen = session.exec(select(Portal.member_id).where(callable_clause())).all()
    assert sorted(chosen) == sorted(p.member_id for p in every if why_not_callable(p) is None)
    assert chosen == ["m0"]


def test_a_refused_refresh_is_recorded_on_the_portal(
    engine: Engine, bitrix24: PortalEmulator, settings: Settings
) -> None:
    portal = stored_portal(engine, bitrix24)
    bitrix24.revoke()
    configured = settings.replace(
        bitrix24_client_id=bitrix24.client_id,
        bitrix24_client_secret=bitrix24.client_secret,
        bitrix24_oauth_url=bitrix24.oauth_url,
    )

    async def refresh() -> None:
        async with runtime(configured) as rt:
            assert portal.id is not None
            tokens = PortalTokens(rt.sessions, rt.settings, rt.http, portal.id)
            await tokens.refreshed(await tokens.current())

    with pytest.raises(OAuthError):
        asyncio.run(refresh())
    with Session(engine) as session:
        stored = session.get(Portal, portal.id)
        assert stored is not None and stored.auth_error is not None
    assert stored.auth_error.startswith("Bitrix24 refused to refresh the tokens: invalid_grant")
    assert why_not_callable(stored) == stored.auth_error
