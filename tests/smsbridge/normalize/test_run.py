"""Phone normalization's passes against the emulated portal: dry runs, checkpoints, refused
writes and bad arguments (the flow and the command are tested in their own files)."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
from sqlalchemy import Engine
from support import MEMBER_ID
from support.crm_phones import (
    assert_normalized,
    assert_untouched,
    checkpoints,
    requests,
    seed,
    set_checkpoint,
    unobserved,
    writes,
)

from sandbox.bitrix24.portal import PortalEmulator
from smsbridge.config import Settings
from smsbridge.normalize.plan import PhoneChange
from smsbridge.normalize.run import (
    NormalizeReport,
    PassTally,
    ProgressFor,
    checkpoint_key,
    normalize_portals,
    write_changes,
)
from smsbridge.portals.client import portal_client
from smsbridge.portals.lookup import installed
from smsbridge.progress import ProgressCallback
from smsbridge.runtime import runtime


def normalize(
    settings: Settings, progress_for: ProgressFor | None = None, **options: Any
) -> NormalizeReport:
    async def run() -> NormalizeReport:
        async with runtime(settings) as rt:
            return await normalize_portals(rt, progress_for or unobserved, **options)

    return asyncio.run(run())


def test_a_dry_run_writes_nothing_and_leaves_checkpoints_alone(
    installed_settings: Settings, bitrix24: PortalEmulator, engine: Engine
) -> None:
    crm = seed(bitrix24, contacts=60, leads=10)
    key = checkpoint_key(MEMBER_ID, "contact")
    set_checkpoint(engine, key, 30)
    writes_before = writes(bitrix24)

    summary = normalize(installed_settings).summary()

    assert summary["dry_run"] is True
    assert (summary["items"], summary["changed"]) == (70, crm.changes)  # all of them, would change
    assert writes(bitrix24) == writes_before
    for entity, items in crm.items.items():
        for item_id in items:
            assert_untouched(crm, entity, item_id)
    assert checkpoints(engine) == {key: {"last_id": 30}}


def test_a_pass_reads_fifty_pages_a_request_and_writes_fifty_items_a_request(
    installed_settings: Settings, bitrix24: PortalEmulator
) -> None:
    crm = seed(bitrix24, contacts=2_600)  # 52 pages: the first, then 50 in a batch, then 1
    lists, batches = requests(bitrix24, "crm.contact.list"), requests(bitrix24, "batch")
    pages = bitrix24.executed["crm.contact.list"]

    summary = normalize(installed_settings, entities=("contact",), dry_run=False).summary()

    changed = crm.items_changed("contact")
    assert (summary["items"], summary["changed"]) == (2_600, crm.changes)
    assert bitrix24.executed["crm.contact.list"] - pages == 52
    assert requests(bitrix24, "crm.contact.list") - lists == 1
    assert requests(bitrix24, "batch") - batches == 2 + math.ceil(changed / 50)
    assert writes(bitrix24) == changed
    for item_id in crm.items["contact"]:
        assert_normalized(crm, "contact", item_id)


class BreakAfter:
    """Follows a pass and makes the portal refuse everything once `items` have gone by."""

    def __init__(self, portal: PortalEmulator, items: int) -> None:
        self.portal = portal
        self.items = items

    def __call__(self, tally: PassTally) -> ProgressCallback:
        async def progress(done: int, total: int) -> None:
            assert (tally.items, total) == (done, 200)
            if done == self.items:
                self.portal.fail_next(1000, 503, "OVERLOAD_LIMIT")

        return progress


def test_an_interrupted_run_resumes_after_its_checkpoint(
    installed_settings: Settings, bitrix24: PortalEmulator, engine: Engine
) -> None:
    ids = [
        bitrix24.add_contact(f"Contact {i}", [(f"8 (925) {i:03d}-00-00", "MOBILE")])
        for i in range(200)
    ]
    key = checkpoint_key(MEMBER_ID, "contact")

    report = normalize(
        installed_settings, BreakAfter(bitrix24, 100), entities=("contact",), dry_run=False
    )

    assert "OVERLOAD_LIMIT" in report.aborted[MEMBER_ID]
    assert report.passes[0].completed is False
    assert checkpoints(engine) == {key: {"last_id": ids[99]}}
    values = [bitrix24.entity("contact", item_id)["PHONE"][0]["VALUE"] for item_id in ids]
    assert values[:100] == [f"+7925{i:03d}0000" for i in range(100)]
    assert values[100:] == [f"8 (925) {i:03d}-00-00" for i in range(100, 200)]
    bitrix24.fail_next(0)

    resumed = normalize(installed_settings, entities=("contact",), dry_run=False)

    assert resumed.aborted == {}
    summary = resumed.summary()
    assert (summary["items"], summary["changed"]) == (100, 100)  # only what was left
    values = [bitrix24.entity("contact", item_id)["PHONE"][0]["VALUE"] for item_id in ids]
    assert values == [f"+7925{i:03d}0000" for i in range(200)]
    assert checkpoints(engine) == {}


def test_a_refused_update_is_reported_and_the_rest_written(
    installed_settings: Settings, bitrix24: PortalEmulator
) -> None:
    item_id = bitrix24.add_contact("Real", [("8 925 507 06 02", "MOBILE")])
    [phone] = bitrix24.entity("contact", item_id)["PHONE"]
    report = NormalizeReport(dry_run=False)
    tally = PassTally(MEMBER_ID, "contact", 0)
    pending = {
        item_id: [PhoneChange(phone["ID"], phone["VALUE"], "+79255070602", "MOBILE")],
        9999: [PhoneChange("1", "8 925 000 00 00", "+79250000000", "WORK")],  # no such contact
    }

    async def write() -> None:
        async with runtime(installed_settings) as rt:
            async with rt.sessions() as session:
                [portal] = await installed(session)
            assert portal.id is not None
            client = portal_client(rt.sessions, rt.settings, rt.http, portal.id)
            await write_changes(client, "contact", pending, tally, report)

    asyncio.run(write())

    assert bitrix24.entity("contact", item_id)["PHONE"] == [{**phone, "VALUE": "+79255070602"}]
    assert (tally.changed, tally.failed_writes) == (1, 1)
    [failure] = report.failures
    assert (failure.item_id, failure.error) == (9999, ": Not found.")


def test_an_unknown_region_or_entity_is_refused_before_any_request(
    installed_settings: Settings, bitrix24: PortalEmulator
) -> None:
    requests = len(bitrix24.request_log)
    with pytest.raises(ValueError, match="unknown region"):
        normalize(installed_settings, region="Russia")
    with pytest.raises(ValueError, match="entities must be among"):
        normalize(installed_settings, entities=("deal",))
    assert len(bitrix24.request_log) == requests
