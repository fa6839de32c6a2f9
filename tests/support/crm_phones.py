"""A messy CRM for phone normalization: every seeded phone carries the value it must end up with,
written out here by hand (not by the code under test); garbage must come out as it went in, and no
phone may appear or disappear. Shared by the tests of the run, the flow and the command."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session, select

from models import Checkpoint
from sandbox.bitrix24.portal import PortalEmulator
from smsbridge.normalize.run import PassTally
from smsbridge.progress import ProgressCallback

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
    """crm.*.update calls so far, `batch` sub-calls included: one per item written."""
    return sum(n for method, n in portal.executed.items() if method.endswith(".update"))


def requests(portal: PortalEmulator, method: str) -> int:
    """HTTP requests for `method` so far (a `batch` is one, whatever it carries)."""
    return sum(1 for request in portal.request_log if request.method == method)


def checkpoints(engine: Engine) -> dict[str, dict[str, int]]:
    with Session(engine) as session:
        return {row.key: row.value for row in session.exec(select(Checkpoint))}


def set_checkpoint(engine: Engine, key: str, last_id: int) -> None:
    with Session(engine) as session:
        session.add(Checkpoint(key=key, value={"last_id": last_id}))
        session.commit()


def unobserved(tally: PassTally) -> ProgressCallback:
    """Progress that shows nothing (the flow shows artifacts, the CLI progress bars)."""

    async def progress(done: int, total: int) -> None:
        pass

    return progress
