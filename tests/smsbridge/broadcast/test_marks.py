"""Marking a broadcast's invalid numbers on the emulated portal's CRM items: an item that cannot be
marked is reported, and names itself in the error that fails the run. Marking and clearing a real
selection is tested with validation, in test_validate.py beside this file."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select
from support.broadcasts import TEXT

from models import Portal
from smsbridge.broadcast.check import BroadcastCheck, Invalid
from smsbridge.broadcast.marks import MarkingIncomplete, MarkSummary, mark_invalid
from smsbridge.broadcast.recipients import CrmRef, Recipient
from smsbridge.config import Settings
from smsbridge.portals.client import portal_client
from smsbridge.rules.segments import measure
from smsbridge.runtime import runtime


def test_items_that_cannot_be_marked_are_reported(installed_settings: Settings) -> None:
    gone = Recipient("abc", "contact 999", {}, CrmRef("contact", 999, None))
    check = BroadcastCheck(measure(TEXT), [], [Invalid(gone, "not a phone number")], 0)

    async def mark() -> MarkSummary:
        async with runtime(installed_settings) as rt:
            async with rt.sessions() as session:  # closed first: on SQLite it holds the lock
                [portal_id] = (await session.exec(select(Portal.id))).all()
            assert portal_id is not None
            client = portal_client(rt.sessions, rt.settings, rt.http, portal_id)
            return await mark_invalid(client, check)

    marks = asyncio.run(mark())

    assert (marks.field_created, marks.marked, list(marks.failed)) == (True, 0, ["contact_999"])
    with pytest.raises(
        MarkingIncomplete, match=r"^1 CRM items were not marked \(contact_999: .*Not found"
    ):
        marks.raise_if_failed()
