"""Consent read from the emulated portal's CRM over HTTP: batched, incremental, with evidence."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, event
from sqlmodel import Session, select
from support import Webhook

from models import Consent, Portal
from sandbox.bitrix24.portal import PortalEmulator
from smsbridge.config import Settings
from smsbridge.policy import consent
from smsbridge.portals.client import portal_client
from smsbridge.runtime import runtime

GIVEN = "2026-01-10T12:00:00+03:00"
LATER = "2026-02-01T09:00:00+03:00"


async def run_sync(settings: Settings, *, fields: bool = False) -> consent.ConsentSync:
    async with runtime(settings) as rt:
        async with rt.sessions() as session:
            portal = (await session.exec(select(Portal))).one()  # type: ignore[call-overload]
        assert portal.id is not None
        client = portal_client(rt.sessions, settings, rt.http, portal.id)
        if fields:
            assert await consent.ensure_fields(client) == ["contact", "lead"]
            assert await consent.ensure_fields(client) == []  # idempotent
        return await consent.sync(rt.sessions, client, portal)


def stored(webhook: Webhook) -> dict[str, tuple[str, int, datetime]]:
    with Session(webhook.engine) as session:
        rows = session.exec(select(Consent)).all()
    return {c.phone: (c.entity_type, c.entity_id, c.given_at) for c in rows}


def test_consent_is_read_in_batches_then_incrementally(
    installed: Webhook, installed_settings: Settings, bitrix24: PortalEmulator
) -> None:
    asyncio.run(run_sync(installed_settings, fields=True))  # creates the fields; nothing to read
    consenting = [
        bitrix24.add_contact(f"C{n}", [f"+7916{n:07d}"], UF_CRM_SMS_CONSENT=GIVEN)
        for n in range(150)
    ]
    bitrix24.add_contact("Нет согласия", ["+79170000001"])
    lead = bitrix24.add_lead(
        "Лид", ["8 (917) 000-00-02", "+7 917 CALL-NOW"], UF_CRM_SMS_CONSENT=GIVEN
    )
    time.sleep(1.1)  # the CRM keeps whole seconds: a run reads past a second once it ended
    before = len(bitrix24.request_log)
    result = asyncio.run(run_sync(installed_settings))
    requests = [r.method for r in bitrix24.request_log[before:]]
    # contacts: one counting call (50 rows) + one batch for the other 2 pages; leads: one call.
    assert requests.count("batch") == 1 and len(requests) == 3, requests
    assert (result.read, result.given, result.unreadable) == (152, 151, 1)
    table = stored(installed)
    assert len(table) == 151 and "+79170000001" not in table
    assert table["+79160000007"] == ("contact", consenting[7], datetime(2026, 1, 10, 9, tzinfo=UTC))
    assert table["+79170000002"][:2] == ("lead", lead)

    # Later (the CRM keeps whole seconds), the manager clears one contact's consent: the next
    # run reads only what changed.
    time.sleep(1.1)
    asyncio.run(_update(installed_settings, consenting[3], {"UF_CRM_SMS_CONSENT": ""}))
    again = asyncio.run(run_sync(installed_settings))
    assert again.read < 10 and again.withdrawn == 1
    assert "+79160000003" not in stored(installed)
    assert len(stored(installed)) == 150


def test_one_chunk_settles_as_its_items_would_one_after_another(
    installed: Webhook, installed_settings: Settings, bitrix24: PortalEmulator
) -> None:
    """Items read together are written together, with the outcome of writing them in the CRM's
    order: a number two items claim goes to the later one, a cleared field or a lost number
    withdraws (counted when the item that lost it is read, as then), and three statements on the
    consent table do it all, however many items there are."""
    asyncio.run(run_sync(installed_settings, fields=True))
    phone = [f"+7916000000{n}" for n in range(7)]
    a = bitrix24.add_contact("A", [phone[1], phone[2]], UF_CRM_SMS_CONSENT=GIVEN)
    b = bitrix24.add_contact("B", [phone[3]], UF_CRM_SMS_CONSENT=GIVEN)
    c = bitrix24.add_contact("C", [phone[4]], UF_CRM_SMS_CONSENT=GIVEN)
    e = bitrix24.add_contact("E", [phone[6]], UF_CRM_SMS_CONSENT=GIVEN)
    time.sleep(1.1)
    first = asyncio.run(run_sync(installed_settings))
    assert (first.read, first.given, first.withdrawn) == (4, 5, 0)

    time.sleep(1.1)
    # A loses phone 2 and takes E's phone 6; B's consent is cleared; C loses its only phone 4,
    # which E (read after C) takes instead of 6; D, new, takes A's phone 1.
    asyncio.run(_update(installed_settings, a, _phones(bitrix24, a, drop=phone[2], add=phone[6])))
    asyncio.run(_update(installed_settings, b, {"UF_CRM_SMS_CONSENT": ""}))
    asyncio.run(_update(installed_settings, c, _phones(bitrix24, c, drop=phone[4])))
    asyncio.run(_update(installed_settings, e, _phones(bitrix24, e, drop=phone[6], add=phone[4])))
    d = bitrix24.add_contact(
        "D", [phone[1], "8 (916) 000-00-05", "+7 916 CALL-NOW"], UF_CRM_SMS_CONSENT=LATER
    )
    time.sleep(1.1)
    with consent_statements() as statements:
        second = asyncio.run(run_sync(installed_settings))

    # A: 2 given, 2 withdrawn; B: 3 withdrawn; C: 4 withdrawn (E takes it next: still counted);
    # E: 4 given, its 6 already A's (not withdrawn); D: 1 and 5 given, one unreadable.
    assert (second.read, second.given, second.withdrawn, second.unreadable) == (5, 5, 3, 1)
    given, later = datetime(2026, 1, 10, 9, tzinfo=UTC), datetime(2026, 2, 1, 6, tzinfo=UTC)
    assert stored(installed) == {
        phone[1]: ("contact", d, later),  # the later item wins
        phone[4]: ("contact", e, given),
        phone[5]: ("contact", d, later),
        phone[6]: ("contact", a, given),
    }
    # The contacts' chunk: read its rows, delete the stale, upsert (leads: nothing read).
    assert [verb for verb, _ in statements] == ["SELECT", "DELETE", "INSERT"], statements


@contextmanager
def consent_statements() -> Iterator[list[tuple[str, bool]]]:
    """The statements on the consent table, any engine (verb, whether executed many times)."""
    seen: list[tuple[str, bool]] = []
    pattern = re.compile(r"\b(?:FROM|INTO|UPDATE) consent\b")

    def note(*args: Any) -> None:
        statement, executemany = args[2], args[5]
        if pattern.search(statement):
            seen.append((statement.split(None, 1)[0], executemany))

    event.listen(Engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", note)


def _phones(
    portal: PortalEmulator, contact_id: int, *, drop: str, add: str | None = None
) -> dict[str, Any]:
    """An update of the contact's PHONE that deletes `drop` and adds `add`."""
    entries: list[dict[str, str]] = [
        {"ID": entry["ID"], "DELETE": "Y"}
        for entry in portal.entity("contact", contact_id)["PHONE"]
        if entry["VALUE"] == drop
    ]
    if add is not None:
        entries.append({"VALUE": add, "VALUE_TYPE": "WORK"})
    return {"PHONE": entries}


async def _update(settings: Settings, contact_id: int, fields: dict[str, Any]) -> None:
    async with runtime(settings) as rt:
        async with rt.sessions() as session:
            portal = (await session.exec(select(Portal))).one()  # type: ignore[call-overload]
        client = portal_client(rt.sessions, settings, rt.http, portal.id)
        await client.call("crm.contact.update", {"id": contact_id, "fields": fields})
