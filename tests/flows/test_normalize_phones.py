"""`normalize-phones` run for real against the emulated portal: messy CRM phones → E.164.

Every seeded phone carries the value it must end up with, written out here by hand (not by the
code under test); garbage must come out as it went in, and no phone may appear or disappear.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from prefect.artifacts import Artifact
from pydantic import AnyHttpUrl, SecretStr
from sqlalchemy import Engine
from sqlmodel import Session, select
from support import MEMBER_ID, SMSRU_KEY, Webhook
from typer.testing import CliRunner, Result

from flows.normalize_phones import (
    NormalizationIncomplete,
    NormalizeReport,
    PassTally,
    checkpoint_key,
    normalize_phones,
    normalize_portals,
    write_changes,
)
from models import Checkpoint
from sandbox.bitrix24.portal import PortalEmulator
from smsbridge.commands.normalize import normalize
from smsbridge.config import Settings
from smsbridge.phone_normalization import PhoneChange
from smsbridge.portal_client import portal_client
from smsbridge.portals import installed_portals
from smsbridge.runtime import runtime

# National number n (10 digits) as people type it; each entry: (spelling, its E.164).
SPELLINGS: tuple[Callable[[str], str], ...] = (
    lambda n: f"8 ({n[:3]}) {n[3:6]}-{n[6:8]}-{n[8:]}",
    lambda n: f"+7 {n[:3]} {n[3:]}",
    lambda n: f"7{n}",
    lambda n: n,
    lambda n: f"+7{n}",  # already E.164
    lambda n: f"8-{n[:3]}-{n[3:6]}-{n[6:8]}-{n[8:]}",
    lambda n: f"+7({n[:3]}){n[3:6]}-{n[6:]}",
    lambda n: f" 8 {n[:3]} {n[3:6]} {n[6:8]} {n[8:]} ",
)
FOREIGN = (
    ("+44 20 7946 0958", "+442079460958"),
    ("+1 (202) 555-0143", "+12025550143"),
    ("+375 29 123-45-67", "+375291234567"),
    ("+4915123456789", "+4915123456789"),  # already E.164
)
GARBAGE = ("abc", "12", "не звонить", "+7 925 507", "[/b] нет")  # "[/b]": rich markup


@dataclass(frozen=True)
class Seeded:
    raw: str
    value_type: str
    expected: str | None  # None: not a number, must stay as it is


def phones_of(i: int, mobile_prefix: str) -> list[Seeded]:
    """Item i's phones: a mobile in one of the spellings, sometimes a Moscow landline, a foreign
    number, garbage."""
    mobile = f"{mobile_prefix}{i:07d}"
    phones = [Seeded(SPELLINGS[i % len(SPELLINGS)](mobile), "MOBILE", f"+7{mobile}")]
    if i % 3 == 0:
        landline = f"495{i + 1000000:07d}"
        phones.append(
            Seeded(SPELLINGS[(i + 3) % len(SPELLINGS)](landline), "WORK", f"+7{landline}")
        )
    if i % 5 == 1:
        raw, e164 = FOREIGN[i % len(FOREIGN)]
        phones.append(Seeded(raw, "HOME", e164))
    if i % 7 == 2:
        phones.append(Seeded(GARBAGE[i % len(GARBAGE)], "OTHER", None))
    return phones


@dataclass
class Crm:
    """What was seeded: per entity type, item ID → its phones."""

    portal: PortalEmulator
    items: dict[str, dict[int, list[Seeded]]]

    def stored(self, entity: str, item_id: int) -> list[dict[str, str]]:
        return list(self.portal.entity(entity, item_id).get("PHONE", []))

    def count(self, predicate: Callable[[Seeded], bool]) -> int:
        return sum(
            predicate(phone)
            for items in self.items.values()
            for phones in items.values()
            for phone in phones
        )

    @property
    def changes(self) -> int:
        return self.count(lambda p: p.expected is not None and p.expected != p.raw)

    def items_changed(self, entity: str) -> int:
        return sum(
            any(p.expected not in (None, p.raw) for p in phones)
            for phones in self.items[entity].values()
        )


def seed(portal: PortalEmulator, contacts: int, leads: int = 0) -> Crm:
    items: dict[str, dict[int, list[Seeded]]] = {"contact": {}, "lead": {}}
    for i in range(contacts):
        phones = phones_of(i, "925")
        item_id = portal.add_contact(f"Contact {i}", [(p.raw, p.value_type) for p in phones])
        items["contact"][item_id] = phones
    for i in range(leads):
        phones = phones_of(i, "926")
        item_id = portal.add_lead(f"Lead {i}", [(p.raw, p.value_type) for p in phones])
        items["lead"][item_id] = phones
    return Crm(portal, items)


def snapshot(crm: Crm) -> dict[tuple[str, int], list[tuple[str, str]]]:
    """Each item's phone entries as (ID, VALUE_TYPE): what must never change."""
    return {
        (entity, item_id): [(e["ID"], e["VALUE_TYPE"]) for e in crm.stored(entity, item_id)]
        for entity, items in crm.items.items()
        for item_id in items
    }


def assert_normalized(crm: Crm, entity: str, item_id: int) -> None:
    stored = crm.stored(entity, item_id)
    expected = [p.expected or p.raw for p in crm.items[entity][item_id]]
    assert [e["VALUE"] for e in stored] == expected, (entity, item_id)


def assert_untouched(crm: Crm, entity: str, item_id: int) -> None:
    stored = crm.stored(entity, item_id)
    assert [e["VALUE"] for e in stored] == [p.raw for p in crm.items[entity][item_id]]


def writes(portal: PortalEmulator) -> int:
    """`batch` requests so far: the flow sends its crm.*.update calls only through them."""
    return sum(1 for request in portal.request_log if request.method == "batch")


def checkpoints(engine: Engine) -> dict[str, dict[str, int]]:
    with Session(engine) as session:
        return {row.key: row.value for row in session.exec(select(Checkpoint))}


def set_checkpoint(engine: Engine, key: str, last_id: int) -> None:
    with Session(engine) as session:
        session.add(Checkpoint(key=key, value={"last_id": last_id}))
        session.commit()


@pytest.fixture
def flow_settings(installed: Webhook, settings: Settings, bitrix24: PortalEmulator) -> Settings:
    return settings.model_copy(
        update={
            "smsru_api_id": SecretStr(SMSRU_KEY),
            "bitrix24_client_id": bitrix24.client_id,
            "bitrix24_client_secret": SecretStr(bitrix24.client_secret),
            "bitrix24_oauth_url": AnyHttpUrl(bitrix24.base_url),
        }
    )


def artifact_data(key: str) -> object:
    """The latest artifact under `key`, as the Prefect server stored it."""
    artifact = asyncio.run(Artifact.aget(key))
    assert artifact is not None, key
    return json.loads(str(artifact.data)) if artifact.type == "table" else artifact.data


@pytest.mark.usefixtures("prefect_harness")
def test_500_messy_contacts_become_e164_and_a_second_run_is_a_no_op(
    flow_settings: Settings, bitrix24: PortalEmulator, engine: Engine
) -> None:
    crm = seed(bitrix24, contacts=500, leads=60)
    before = snapshot(crm)
    writes_before = writes(bitrix24)

    summary = asyncio.run(normalize_phones(dry_run=False, settings=flow_settings))

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
    batches = writes(bitrix24) - writes_before
    assert batches == math.ceil(crm.items_changed("contact") / 50) + math.ceil(
        crm.items_changed("lead") / 50
    )
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

    again = asyncio.run(normalize_phones(dry_run=False, settings=flow_settings))

    assert (again["changed"], again["unparseable"]) == (0, garbage)
    assert again["already_e164"] == summary["already_e164"] + summary["changed"]
    assert writes(bitrix24) - writes_before == batches  # the second run wrote nothing
    assert bitrix24.limit_exceeded_count == 0


def test_a_dry_run_writes_nothing_and_leaves_checkpoints_alone(
    flow_settings: Settings, bitrix24: PortalEmulator, engine: Engine
) -> None:
    crm = seed(bitrix24, contacts=60, leads=10)
    key = checkpoint_key(MEMBER_ID, "contact")
    set_checkpoint(engine, key, 30)
    writes_before = writes(bitrix24)

    summary = asyncio.run(normalize_phones.fn(settings=flow_settings))

    assert summary["dry_run"] is True
    assert (summary["items"], summary["changed"]) == (70, crm.changes)  # all of them, would change
    assert writes(bitrix24) == writes_before
    for entity, items in crm.items.items():
        for item_id in items:
            assert_untouched(crm, entity, item_id)
    assert checkpoints(engine) == {key: {"last_id": 30}}


class BreakAfter:
    """Observes a pass and makes the portal refuse everything once `items` have gone by."""

    def __init__(self, portal: PortalEmulator, items: int) -> None:
        self.portal = portal
        self.items = items

    async def started(self, tally: PassTally, total: int) -> None:
        assert total == 200

    async def advanced(self, tally: PassTally) -> None:
        if tally.items == self.items:
            self.portal.fail_next(1000, 503, "OVERLOAD_LIMIT")


@pytest.mark.usefixtures("prefect_harness")
def test_an_interrupted_run_resumes_after_its_checkpoint(
    flow_settings: Settings, bitrix24: PortalEmulator, engine: Engine
) -> None:
    ids = [
        bitrix24.add_contact(f"Contact {i}", [(f"8 (925) {i:03d}-00-00", "MOBILE")])
        for i in range(200)
    ]
    key = checkpoint_key(MEMBER_ID, "contact")

    async def interrupted() -> NormalizeReport:
        async with runtime(flow_settings) as rt:
            return await normalize_portals(
                rt, BreakAfter(bitrix24, 100), entities=("contact",), dry_run=False
            )

    report = asyncio.run(interrupted())

    assert "OVERLOAD_LIMIT" in report.aborted[MEMBER_ID]
    assert report.passes[0].completed is False
    assert checkpoints(engine) == {key: {"last_id": ids[99]}}
    values = [bitrix24.entity("contact", item_id)["PHONE"][0]["VALUE"] for item_id in ids]
    assert values[:100] == [f"+7925{i:03d}0000" for i in range(100)]
    assert values[100:] == [f"8 (925) {i:03d}-00-00" for i in range(100, 200)]
    bitrix24.fail_next(0)

    summary = asyncio.run(
        normalize_phones(entities=["contact"], dry_run=False, settings=flow_settings)
    )

    assert (summary["items"], summary["changed"]) == (100, 100)  # only what was left
    values = [bitrix24.entity("contact", item_id)["PHONE"][0]["VALUE"] for item_id in ids]
    assert values == [f"+7925{i:03d}0000" for i in range(200)]
    assert checkpoints(engine) == {}


def test_a_portal_that_stops_answering_fails_the_run_and_keeps_its_checkpoint(
    flow_settings: Settings, bitrix24: PortalEmulator, engine: Engine
) -> None:
    seed(bitrix24, contacts=3)
    key = checkpoint_key(MEMBER_ID, "contact")
    set_checkpoint(engine, key, 2)
    bitrix24.fail_next(1, 503, "OVERLOAD_LIMIT")

    with pytest.raises(NormalizationIncomplete, match="OVERLOAD_LIMIT"):
        asyncio.run(normalize_phones.fn(dry_run=False, settings=flow_settings))

    assert checkpoints(engine) == {key: {"last_id": 2}}


def test_a_refused_update_is_reported_and_the_rest_written(
    flow_settings: Settings, bitrix24: PortalEmulator
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
        async with runtime(flow_settings) as rt:
            async with rt.sessions() as session:
                [portal] = await installed_portals(session)
            assert portal.id is not None
            client = portal_client(rt.sessions, rt.settings, rt.http, portal.id)
            await write_changes(client, "contact", pending, tally, report)

    asyncio.run(write())

    assert bitrix24.entity("contact", item_id)["PHONE"] == [{**phone, "VALUE": "+79255070602"}]
    assert (tally.changed, tally.failed_writes) == (1, 1)
    [failure] = report.failures
    assert (failure.item_id, failure.error) == (9999, ": Not found.")


def test_an_unknown_region_or_entity_is_refused_before_any_request(
    flow_settings: Settings, bitrix24: PortalEmulator
) -> None:
    requests = len(bitrix24.request_log)
    with pytest.raises(ValueError, match="unknown region"):
        asyncio.run(normalize_phones.fn(region="Russia", settings=flow_settings))
    with pytest.raises(ValueError, match="entities must be among"):
        asyncio.run(normalize_phones.fn(entities=["deal"], settings=flow_settings))
    assert len(bitrix24.request_log) == requests


def run_cli(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, settings: Settings, *args: str
) -> Result:
    """The command as the CLI registers it, with the configuration from the environment."""
    monkeypatch.chdir(tmp_path)  # away from the project's .env
    root = logging.getLogger()  # the command sets up logging on the runner's stderr: undo it after
    monkeypatch.setattr(root, "handlers", root.handlers[:])
    for logger in (root, logging.getLogger("httpx")):
        monkeypatch.setattr(logger, "level", logger.level)
    secret = settings.bitrix24_client_secret
    env = {
        "DATABASE_URL": settings.database_url,
        "BITRIX24_CLIENT_ID": settings.bitrix24_client_id or "",
        "BITRIX24_CLIENT_SECRET": secret.get_secret_value() if secret else "",
        "BITRIX24_OAUTH_URL": str(settings.bitrix24_oauth_url),
    }
    app = typer.Typer()
    app.command()(normalize)
    return CliRunner().invoke(app, list(args), env=env)


def test_the_cli_shows_a_dry_run_then_applies_it(
    flow_settings: Settings,
    bitrix24: PortalEmulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    crm = seed(bitrix24, contacts=30, leads=5)

    shown = run_cli(monkeypatch, tmp_path, flow_settings)

    assert shown.exit_code == 0, shown.output
    assert f"{crm.changes} would change" in shown.stdout
    assert "nothing written" in shown.stdout
    assert "не звонить" in shown.stdout and "[/b] нет" in shown.stdout  # unparseable, listed
    for entity, items in crm.items.items():
        for item_id in items:
            assert_untouched(crm, entity, item_id)

    applied = run_cli(monkeypatch, tmp_path, flow_settings, MEMBER_ID, "--apply")

    assert applied.exit_code == 0, applied.output
    for entity, items in crm.items.items():
        for item_id in items:
            assert_normalized(crm, entity, item_id)


def test_the_cli_applies_to_the_chosen_entities_only(
    flow_settings: Settings,
    bitrix24: PortalEmulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    crm = seed(bitrix24, contacts=5, leads=5)

    result = run_cli(monkeypatch, tmp_path, flow_settings, "--apply", "--entity", "lead")

    assert result.exit_code == 0, result.output
    for item_id in crm.items["lead"]:
        assert_normalized(crm, "lead", item_id)
    for item_id in crm.items["contact"]:
        assert_untouched(crm, "contact", item_id)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--region", "Russia"], 2, "unknown region"),
        (["--entity", "deal"], 2, "--entity must be one of"),
        (["0000"], 1, "no portal 0000 is stored"),
    ],
)
def test_the_cli_exit_codes(
    flow_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    args: list[str],
    code: int,
    message: str,
) -> None:
    result = run_cli(monkeypatch, tmp_path, flow_settings, *args)
    assert result.exit_code == code, result.output
    assert message in " ".join(result.stderr.split())


def test_the_cli_fails_when_a_portal_stops_answering(
    flow_settings: Settings,
    bitrix24: PortalEmulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    seed(bitrix24, contacts=3)
    bitrix24.fail_next(1, 503, "OVERLOAD_LIMIT")
    result = run_cli(monkeypatch, tmp_path, flow_settings, "--apply")
    assert result.exit_code == 1, result.output
    said = " ".join(result.stderr.split())
    assert "OVERLOAD_LIMIT" in said and "the next run resumes there" in said


def test_the_cli_refuses_a_bad_configuration(
    flow_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bad = flow_settings.model_copy(update={"database_url": "mysql://nowhere/db"})
    result = run_cli(monkeypatch, tmp_path, bad)
    assert result.exit_code == 2
    assert "DATABASE_URL" in " ".join(result.stderr.split())
