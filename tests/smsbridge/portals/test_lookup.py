"""Finding a stored portal by member_id, and which portals Bitrix24 can be called for."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Portal
from smsbridge.config import Settings
from smsbridge.portals.lookup import PortalNotFound, find, find_or_none, installed
from smsbridge.portals.tokens import PortalNotAuthorized
from smsbridge.runtime import runtime

T = TypeVar("T")


def in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run() -> T:
        async with runtime(settings) as rt, rt.sessions() as session:
            return await work(session)

    return asyncio.run(run())


def with_tokens(member_id: str, auth_error: str | None = None) -> Portal:
    return Portal(member_id=member_id, access_token="a1", refresh_token="r1", auth_error=auth_error)


@pytest.fixture
def portals(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(Portal(member_id="by-hand"))  # `smsbridge portal add`: no tokens
        session.add(with_tokens("ok-2"))
        session.add(with_tokens("revoked", auth_error="the app was revoked"))
        session.add(with_tokens("ok-1"))
        session.commit()


@pytest.mark.usefixtures("portals")
def test_find(settings: Settings) -> None:
    found = in_session(settings, lambda s: find(s, "revoked"))
    assert (found.member_id, found.auth_error) == ("revoked", "the app was revoked")
    assert in_session(settings, lambda s: find_or_none(s, "nobody")) is None
    with pytest.raises(PortalNotFound) as refused:
        in_session(settings, lambda s: find(s, "nobody"))
    assert str(refused.value) == "no portal nobody is stored; install the app there first"


@pytest.mark.usefixtures("portals")
def test_installed_are_the_callable_portals_in_id_order(settings: Settings) -> None:
    found = in_session(settings, installed)
    assert [p.member_id for p in found] == ["ok-2", "ok-1"]
    [one] = in_session(settings, lambda s: installed(s, "ok-1"))
    assert one.member_id == "ok-1"


@pytest.mark.usefixtures("portals")
@pytest.mark.parametrize(
    ("member_id", "error", "says"),
    [
        ("nobody", PortalNotFound, "no portal nobody is stored; install the app there first"),
        ("by-hand", PortalNotAuthorized, "portal by-hand cannot be called: the app is not"),
        ("revoked", PortalNotAuthorized, "portal revoked cannot be called: the app was revoked"),
    ],
)
def test_installed_says_why_a_portal_named_cannot_be_called(
    settings: Settings, member_id: str, error: type[Exception], says: str
) -> None:
    with pytest.raises(error) as refused:
        in_session(settings, lambda s: installed(s, member_id))
    assert str(refused.value).startswith(says)
