"""Normalizing every PHONE of contacts and leads to E.164, pass by pass, with checkpoints.

Senders, duplicate checks and the stop list all compare numbers as E.164, and a CRM is full of
"8 (925) 507-06-02". This reads each installed portal's contacts and leads in ID order, 2,500 a
request (`clients.bitrix24.listing`), plans the changes with `smsbridge.normalize.plan`, and
writes only the changed entries back, 50 updates per `batch`, each as {ID, VALUE, VALUE_TYPE}:
Bitrix24 adds an entry sent without ID and deletes one sent without VALUE, so this never adds or
deletes a phone. What cannot be read is reported and
left alone. A second run finds nothing to change.

A pass over one portal's entity type keeps a checkpoint (the last ID fully written) after every
written batch, so an interrupted run resumes there; a finished pass clears it, so the next night
starts from the beginning. Dry runs (the default on demand) write nothing, checkpoints included.
The `normalize-phones` flow and the `normalize` command both run `normalize_portals`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlmodel import col, delete

from clients.bitrix24.client import MAX_BATCH, PAGE_SIZE, Bitrix24Client
from clients.bitrix24.errors import Bitrix24Error, OAuthError
from clients.bitrix24.listing import list_batched
from models import Checkpoint
from models.types import utcnow
from smsbridge.logs import fields
from smsbridge.normalize.plan import PhoneChange, PhoneNormalizer
from smsbridge.portals.client import portal_client
from smsbridge.portals.lookup import installed
from smsbridge.portals.tokens import PortalNotAuthorized
from smsbridge.progress import ProgressCallback
from smsbridge.runtime import Runtime

log = logging.getLogger("smsbridge.normalize")

ENTITIES = ("contact", "lead")


@dataclass
class PassTally:
    """One portal's entity type in one run."""

    member_id: str
    entity: str
    resumed_after: int  # the checkpoint's last ID, 0 from the beginning
    items: int = 0
    phones: int = 0
    already_e164: int = 0
    changed: int = 0  # written, or in a dry run that would be
    unparseable: int = 0
    failed_writes: int = 0  # items whose update Bitrix24 refused
    completed: bool = False


@dataclass(frozen=True, slots=True)
class UnparseablePhone:
    member_id: str
    entity: str
    item_id: int
    value: str
    reason: str


@dataclass(frozen=True, slots=True)
class FailedWrite:
    member_id: str
    entity: str
    item_id: int
    error: str


@dataclass
class NormalizeReport:
    dry_run: bool
    passes: list[PassTally] = field(default_factory=list)
    unparseable: list[UnparseablePhone] = field(default_factory=list)
    failures: list[FailedWrite] = field(default_factory=list)
    aborted: dict[str, str] = field(default_factory=dict)  # member_id → why its passes stopped

    def summary(self) -> dict[str, Any]:
        totals = {
            name: sum(getattr(tally, name) for tally in self.passes)
            for name in ("items", "phones", "already_e164", "changed", "unparseable")
        }
        return {
            "dry_run": self.dry_run,
            "portals": len({tally.member_id for tally in self.passes} | set(self.aborted)),
            **totals,
            "failed_writes": len(self.failures),
            "aborted": dict(self.aborted),
        }


# Makes each pass's progress callback as the pass starts (the flow shows an artifact per portal
# and entity type, the CLI a bar); told items paged of the portal's count.
ProgressFor = Callable[[PassTally], ProgressCallback]


def checkpoint_key(member_id: str, entity: str) -> str:
    return f"normalize-phones:{member_id}:{entity}"


async def normalize_portals(
    rt: Runtime,
    progress_for: ProgressFor,
    *,
    member_id: str | None = None,
    entities: tuple[str, ...] = ENTITIES,
    region: str = "RU",
    dry_run: bool = True,
) -> NormalizeReport:
    """Every installed portal (or `member_id`'s). A portal Bitrix24 stops answering is recorded in
    `aborted` with its checkpoint kept, and the others go on. ValueError for a bad region or
    entity; `PortalNotFound` (a LookupError) or `PortalNotAuthorized` for a `member_id` that
    cannot be called."""
    normalizer = PhoneNormalizer(region)
    unknown = [entity for entity in entities if entity not in ENTITIES]
    if unknown or not entities:
        raise ValueError(f"entities must be among {', '.join(ENTITIES)}, not {unknown or 'none'}")
    async with rt.sessions() as session:
        portals = await installed(session, member_id)
    report = NormalizeReport(dry_run)
    for portal in portals:
        assert portal.id is not None
        client = portal_client(rt.sessions, rt.settings, rt.http, portal.id)
        try:
            for entity in entities:
                await normalize_pass(
                    rt, client, normalizer, progress_for, report, portal.member_id, entity
                )
        except (Bitrix24Error, OAuthError, PortalNotAuthorized) as exc:
            report.aborted[portal.member_id] = str(exc)
            log.error("phone normalization stopped %s", fields(portal=portal.member_id, reason=exc))
    return report


async def normalize_pass(
    rt: Runtime,
    client: Bitrix24Client,
    normalizer: PhoneNormalizer,
    progress_for: ProgressFor,
    report: NormalizeReport,
    member_id: str,
    entity: str,
) -> PassTally:
    """One portal's contacts (or leads), from its checkpoint on; Bitrix24 errors propagate."""
    key = checkpoint_key(member_id, entity)
    after = 0 if report.dry_run else await _checkpoint(rt, key)
    tally = PassTally(member_id, entity, after)
    report.passes.append(tally)
    progress = progress_for(tally)
    total = 0

    async def counted(n: int) -> None:
        nonlocal total
        total = n
        await progress(0, n)

    pending: dict[int, list[PhoneChange]] = {}
    params = {"select": ["ID", "PHONE"], "filter": {">ID": after}}
    async for row in list_batched(client, f"crm.{entity}.list", params, counted=counted):
        item_id = int(row["ID"])
        plan = normalizer.plan(row.get("PHONE") or [])
        tally.items += 1
        tally.phones += len(plan.changes) + len(plan.unparseable) + plan.already_e164
        tally.already_e164 += plan.already_e164
        tally.unparseable += len(plan.unparseable)
        report.unparseable.extend(
            UnparseablePhone(member_id, entity, item_id, bad.value, bad.reason)
            for bad in plan.unparseable
        )
        if plan.changes and report.dry_run:
            tally.changed += len(plan.changes)
        elif plan.changes:
            pending[item_id] = plan.changes
            if len(pending) == MAX_BATCH:
                await write_changes(client, entity, pending, tally, report)
                await _save_checkpoint(rt, key, item_id)  # everything up to here is written
        if tally.items % PAGE_SIZE == 0:
            await progress(tally.items, total)
    if pending:
        await write_changes(client, entity, pending, tally, report)
    if not report.dry_run:
        await _clear_checkpoint(rt, key)
    tally.completed = True
    await progress(tally.items, tally.items)
    log.info("phones normalized %s", fields(**asdict(tally)))
    return tally


async def write_changes(
    client: Bitrix24Client,
    entity: str,
    pending: dict[int, list[PhoneChange]],
    tally: PassTally,
    report: NormalizeReport,
) -> None:
    """One batch of updates carrying only the changed entries; refusals are reported, not retried
    (the next pass finds them again)."""
    calls = {
        f"i{item_id}": (
            f"crm.{entity}.update",
            {
                "id": item_id,
                "fields": {
                    "PHONE": [
                        {"ID": c.item_id, "VALUE": c.new, "VALUE_TYPE": c.value_type}
                        for c in changes
                    ]
                },
                "params": {"REGISTER_SONET_EVENT": "N"},
            },
        )
        for item_id, changes in pending.items()
    }
    result = await client.batch(calls)
    for item_id, changes in pending.items():
        call = f"i{item_id}"
        if (failure := result.failure(call)) is not None:
            error = str(failure)
        elif not result.results[call]:
            error = f"answered {result.results[call]!r}"
        else:
            tally.changed += len(changes)
            continue
        tally.failed_writes += 1
        report.failures.append(FailedWrite(tally.member_id, entity, item_id, error))
        log.warning(
            "phone update refused %s",
            fields(portal=tally.member_id, entity=entity, id=item_id, error=error),
        )
    pending.clear()


async def _checkpoint(rt: Runtime, key: str) -> int:
    async with rt.sessions() as session:
        row = await session.get(Checkpoint, key)
        return int(row.value.get("last_id", 0)) if row is not None else 0


async def _save_checkpoint(rt: Runtime, key: str, last_id: int) -> None:
    async with rt.sessions() as session:
        row = await session.get(Checkpoint, key) or Checkpoint(key=key)
        row.value = {"last_id": last_id}
        row.updated_at = utcnow()
        session.add(row)
        await session.commit()


async def _clear_checkpoint(rt: Runtime, key: str) -> None:
    async with rt.sessions() as session:
        await session.execute(delete(Checkpoint).where(col(Checkpoint.key) == key))
        await session.commit()


class NormalizationIncomplete(RuntimeError):
    """Some portal's passes stopped early; the next run resumes them from their checkpoints."""
