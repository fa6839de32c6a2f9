"""`normalize-phones` run for real, through Prefect, against the emulated portal: 560 messy CRM
items become E.164 and a second run is a no-op; a portal that stops answering fails the run. The
passes themselves are tested in tests/smsbridge/normalize/test_run.py."""

from __future__ import annotations

import asyncio
import json
import math

import pytest
from prefect.artifacts import Artifact
from sqlalchemy import Engine
from support import MEMBER_ID
from support.crm_phones import (
    assert_normalized,
    checkpoints,
    requests,
    seed,
    set_checkpoint,
    snapshot,
    writes,
)

from flows.normalize_phones import normalize_phones
from sandbox.bitrix24.portal import PortalEmulator
from smsbridge.config import Settings
from smsbridge.normalize.run import NormalizationIncomplete, checkpoint_key


def artifact_data(key: str) -> object:
    """The latest artifact under `key`, as the Prefect server stored it."""
    artifact = asyncio.run(Artifact.aget(key))
    assert artifact is not None, key
    return json.loads(str(artifact.data)) if artifact.type == "table" else artifact.data


@pytest.mark.usefixtures("prefect_harness")
def test_500_messy_contacts_become_e164_and_a_second_run_is_a_no_op(
    installed_settings: Settings, bitrix24: PortalEmulator, engine: Engine
) -> None:
    crm = seed(bitrix24, contacts=500, leads=60)
    before = snapshot(crm)
    writes_before, batches_before = writes(bitrix24), requests(bitrix24, "batch")

    summary = asyncio.run(normalize_phones(dry_run=False, settings=installed_settings))

    garbage = crm.count(lambda p: p.expected is None)
    assert summary == {
        "dry_run": False,
        "portals": 1,
        "items": 560,
        "phones": crm.count(lambda p: True),
        "already_e164": crm.count(lambda p: p.expected == p.raw),
        "changed": crm.changes,
        "unparseable": garbage,
        "failed_writes": 0,
        "aborted": {},
    }
    assert crm.changes > 500 and garbage > 50  # the data is as messy as intended
    for entity, items in crm.items.items():
        for item_id in items:
            assert_normalized(crm, entity, item_id)
    assert snapshot(crm) == before  # no phone added or deleted, every VALUE_TYPE kept
    written = writes(bitrix24) - writes_before
    assert written == crm.items_changed("contact") + crm.items_changed("lead")
    # Per entity type: its first page, one batch of the other pages, batches of 50 updates.
    assert requests(bitrix24, "batch") - batches_before == 2 + math.ceil(
        crm.items_changed("contact") / 50
    ) + math.ceil(crm.items_changed("lead") / 50)
    assert checkpoints(engine) == {}  # a finished pass starts from the beginning next time

    table = artifact_data("normalize-phones-unparseable")
    assert isinstance(table, list)
    reported = {(row["entity"], row["ID"], row["value"]) for row in table}
    assert reported == {
        (entity, item_id, p.raw)
        for entity, items in crm.items.items()
        for item_id, phones in items.items()
        for p in phones
        if p.expected is None
    }
    markdown = artifact_data("normalize-phones-summary")
    assert isinstance(markdown, str) and f"| {MEMBER_ID} | contact | — | 500 |" in markdown
    for entity in ("contact", "lead"):  # a progress artifact per pass, finished
        assert artifact_data(f"normalize-phones-progress-{MEMBER_ID}-{entity}") == 100.0

    again = asyncio.run(normalize_phones(dry_run=False, settings=installed_settings))

    assert (again["changed"], again["unparseable"]) == (0, garbage)
    assert again["already_e164"] == summary["already_e164"] + summary["changed"]
    assert writes(bitrix24) - writes_before == written  # the second run wrote nothing
    assert bitrix24.limit_exceeded_count == 0


def test_a_portal_that_stops_answering_fails_the_run_and_keeps_its_checkpoint(
    installed_settings: Settings, bitrix24: PortalEmulator, engine: Engine
) -> None:
    seed(bitrix24, contacts=3)
    key = checkpoint_key(MEMBER_ID, "contact")
    set_checkpoint(engine, key, 2)
    bitrix24.fail_next(1, 503, "OVERLOAD_LIMIT")

    with pytest.raises(NormalizationIncomplete, match="OVERLOAD_LIMIT"):
        asyncio.run(normalize_phones.fn(dry_run=False, settings=installed_settings))

    assert checkpoints(engine) == {key: {"last_id": 2}}
