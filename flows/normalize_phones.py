"""`normalize-phones` (nightly, and on demand): every PHONE of contacts and leads in E.164.

Senders, duplicate checks and the stop list all compare numbers as E.164, and a CRM is full of
"8 (925) 507-06-02". This pages each installed portal's contacts and leads in ID order, plans the
changes with `smsbridge.phone_normalization`, and writes only the changed entries back, 50 updates
per `batch`, each as {ID, VALUE, VALUE_TYPE}: Bitrix24 adds an entry sent without ID and deletes
one sent without VALUE, so this never adds or deletes a phone. What cannot be read is reported and
left alone. A second run finds nothing to change.

A pass over one portal's entity type keeps a checkpoint (the last ID fully written) after every
written batch, so an interrupted run resumes there; a finished pass clears it, so the next night
starts from the beginning. Dry runs (the default on demand) write nothing, checkpoints included.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from prefect import flow
from sqlmodel import col, delete

from clients.bitrix24.client import MAX_BATCH, PAGE_SIZE, Bitrix24Client
from clients.bitrix24.errors import Bitrix24Error, OAuthError
from flows.artifacts import Progress, publish_markdown, publish_table
from models import Checkpoint
from models.types import utcnow
from smsbridge.config import Settings
from smsbridge.logs import fields
from smsbridge.phone_normalization import PhoneChange, PhoneNormalizer
from smsbridge.portal_client import portal_client
from smsbridge.portal_tokens import PortalNotAuthorized
from smsbridge.portals import installed_portals
from smsbridge.runtime import Runtime, runtime

log = logging.getLogger("smsbridge.normalize")

ENTITIES = ("contact", "lead")
UNPARSEABLE_SHOWN = 1000  # rows in the table artifact; the summary has the full count


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


class PassObserver(Protocol):
    """Told how a pass goes: the flow shows Prefect progress artifacts, the CLI a progress bar."""

    async def started(self, tally: PassTally, total: int) -> None: ...

    async def advanced(self, tally: PassTally) -> None: ...


def checkpoint_key(member_id: str, entity: str) -> str:
    return f"normalize-phones:{member_id}:{entity}"


async def normalize_portals(
    rt: Runtime,
    observer: PassObserver,
    *,
    member_id: str | None = None,
    entities: tuple[str, ...] = ENTITIES,
    region: str = "RU",
    dry_run: bool = True,
) -> NormalizeReport:
    """Every installed portal (or `member_id`'s). A portal Bitrix24 stops answering is recorded in
    `aborted` with its checkpoint kept, and the others go on. ValueError for a bad region or
    entity, LookupError for a `member_id` that cannot be called."""
    normalizer = PhoneNormalizer(region)
    unknown = [entity for entity in entities if entity not in ENTITIES]
    if unknown or not entities:
        raise ValueError(f"entities must be among {', '.join(ENTITIES)}, not {unknown or 'none'}")
    async with rt.sessions() as session:
        portals = await installed_portals(session, member_id)
    report = NormalizeReport(dry_run)
    for portal in portals:
        assert portal.id is not None
        client = portal_client(rt.sessions, rt.settings, rt.http, portal.id)
        try:
            for entity in entities:
                await normalize_pass(
                    rt, client, normalizer, observer, report, portal.member_id, entity
                )
        except (Bitrix24Error, OAuthError, PortalNotAuthorized) as exc:
            report.aborted[portal.member_id] = str(exc)
            log.error("phone normalization stopped %s", fields(portal=portal.member_id, reason=exc))
    return report


async def normalize_pass(
    rt: Runtime,
    client: Bitrix24Client,
    normalizer: PhoneNormalizer,
    observer: PassObserver,
    report: NormalizeReport,
    member_id: str,
    entity: str,
) -> PassTally:
    """One portal's contacts (or leads), from its checkpoint on; Bitrix24 errors propagate."""
    key = checkpoint_key(member_id, entity)
    after = 0 if report.dry_run else await _checkpoint(rt, key)
    method = f"crm.{entity}.list"
    counted = await client.call_full(
        method, {"select": ["ID"], "filter": {">ID": after}, "start": 0}
    )
    tally = PassTally(member_id, entity, after)
    report.passes.append(tally)
    await observer.started(tally, int(counted.get("total") or 0))
    pending: dict[int, list[PhoneChange]] = {}
    rows = client.list_all(method, {"select": ["ID", "PHONE"], "filter": {">ID": after}})
    async for row in rows:
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
            await observer.advanced(tally)
    if pending:
        await write_changes(client, entity, pending, tally, report)
    if not report.dry_run:
        await _clear_checkpoint(rt, key)
    tally.completed = True
    await observer.advanced(tally)
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
        if call in result.errors:
            error = str(result.errors[call])
        elif call not in result.results:
            error = "not run"
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


class _ProgressArtifacts:
    """A Prefect progress artifact per portal and entity type."""

    def __init__(self) -> None:
        self._progress: dict[tuple[str, str], Progress] = {}

    async def started(self, tally: PassTally, total: int) -> None:
        slug = re.sub(r"[^a-z0-9-]+", "-", tally.member_id.lower())
        self._progress[tally.member_id, tally.entity] = Progress(
            f"normalize-phones-progress-{slug}-{tally.entity}",
            f"Phones normalized: {tally.entity}s of portal {tally.member_id}",
            total,
        )

    async def advanced(self, tally: PassTally) -> None:
        progress = self._progress[tally.member_id, tally.entity]
        await progress.update(progress.total if tally.completed else tally.items)


class NormalizationIncomplete(RuntimeError):
    """Some portal's passes stopped early; the next run resumes them from their checkpoints."""


@flow(name="normalize-phones", log_prints=True)
async def normalize_phones(
    member_id: str | None = None,
    entities: list[str] = ["contact", "lead"],  # noqa: B006 (a default Prefect's UI shows; never mutated)
    region: str = "RU",
    dry_run: bool = True,
    settings: Settings | None = None,
) -> dict[str, Any]:
    async with runtime(settings) as rt:
        report = await normalize_portals(
            rt,
            _ProgressArtifacts(),
            member_id=member_id,
            entities=tuple(entities),
            region=region,
            dry_run=dry_run,
        )
    await publish_markdown(
        "normalize-phones-summary", summary_markdown(report), "Phones normalized to E.164"
    )
    await publish_table(
        "normalize-phones-unparseable",
        [
            {
                "portal": bad.member_id,
                "entity": bad.entity,
                "ID": bad.item_id,
                "value": bad.value,
                "reason": bad.reason,
            }
            for bad in report.unparseable[:UNPARSEABLE_SHOWN]
        ],
        "PHONE values that are not phone numbers; left as they are",
    )
    summary = report.summary()
    verb = "would change" if dry_run else "changed"
    print(
        f"{summary['items']} items, {summary['phones']} phones: {summary['already_e164']} "
        f"already E.164, {summary['changed']} {verb}, {summary['unparseable']} unparseable, "
        f"{summary['failed_writes']} failed writes"
    )
    if report.aborted:
        reasons = "; ".join(f"{member}: {why}" for member, why in report.aborted.items())
        raise NormalizationIncomplete(f"stopped on {len(report.aborted)} portal(s): {reasons}")
    return summary


def summary_markdown(report: NormalizeReport) -> str:
    verb = "would change" if report.dry_run else "changed"
    lines = [
        f"# Phone normalization{' (dry run)' if report.dry_run else ''}\n",
        f"| portal | entity | resumed after ID | items | phones | already E.164 | {verb} "
        "| unparseable | failed writes | finished |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {t.member_id} | {t.entity} | {t.resumed_after or '—'} | {t.items} | {t.phones} "
        f"| {t.already_e164} | {t.changed} | {t.unparseable} | {t.failed_writes} "
        f"| {'yes' if t.completed else 'no'} |"
        for t in report.passes
    ]
    if len(report.unparseable) > UNPARSEABLE_SHOWN:
        lines.append(
            f"\nThe unparseable table shows the first {UNPARSEABLE_SHOWN} of "
            f"{len(report.unparseable)}."
        )
    lines += [f"\n**Stopped** on {member}: {why}" for member, why in report.aborted.items()]
    return "\n".join(lines) + "\n"
