"""`sync-stop-list`, run as Prefect runs it, against the SMS.ru emulator over HTTP: both ways."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from support import SMSRU_KEY

from flows.sync_stop_list import sync_stop_list
from models import Portal, StopListEntry
from sandbox.smsru import SmsRuEmulator
from smsbridge.config import Settings

OURS, THEIRS, BOTH = "+79160000001", "+79160000002", "+79160000003"


def local(engine: Engine) -> dict[str, str]:
    with Session(engine) as session:
        return {e.phone: e.origin for e in session.exec(select(StopListEntry)).all()}


@pytest.mark.usefixtures("prefect_harness")
def test_the_stop_list_is_kept_in_step_both_ways(
    settings: Settings, engine: Engine, portal: Portal, smsru: SmsRuEmulator
) -> None:
    for phone in list(smsru.stoplist_of(SMSRU_KEY)):
        smsru.remove_from_stoplist(SMSRU_KEY, phone)
    with Session(engine) as session:
        session.add(StopListEntry(portal_id=portal.id, phone=OURS, reason="отписался"))
        session.add(StopListEntry(portal_id=portal.id, phone=BOTH, reason="жалоба"))
        session.commit()
    smsru.add_to_stoplist(SMSRU_KEY, THEIRS.removeprefix("+"), "из кабинета")
    smsru.add_to_stoplist(SMSRU_KEY, BOTH.removeprefix("+"), "")

    [result] = asyncio.run(sync_stop_list(settings=settings))
    assert (result["added_here"], result["added_there"]) == (1, 1)
    assert local(engine) == {OURS: "manual", BOTH: "manual", THEIRS: "sync"}
    assert smsru.stoplist_of(SMSRU_KEY) == {
        OURS.removeprefix("+"): "отписался",
        THEIRS.removeprefix("+"): "из кабинета",
        BOTH.removeprefix("+"): "",
    }

    # Removed on one side each: the next run removes them on the other.
    with Session(engine) as session:
        entry = session.exec(select(StopListEntry).where(StopListEntry.phone == OURS)).one()
        session.delete(entry)
        session.commit()
    smsru.remove_from_stoplist(SMSRU_KEY, THEIRS)
    [result] = asyncio.run(sync_stop_list.fn(settings=settings))
    assert (result["removed_here"], result["removed_there"]) == (1, 1)
    assert local(engine) == {BOTH: "manual"}
    assert set(smsru.stoplist_of(SMSRU_KEY)) == {BOTH.removeprefix("+")}
