"""Reading the CRM within the portal's REST budget: `batch` against one list call a request.

A portal emulator is seeded with N contacts (phones as people type them, a third with consent),
and the product's own code runs against it over loopback through the real client, at the
portal's real limit (2 requests/s, burst 50; our limiter keeps 2 of it as headroom):

- normalization, dry run and `--apply` (`normalize_portals`): the first page, then 50 pages a
  `batch`, and the changed items written back 50 updates a `batch`;
- consent sync (`smsbridge.policy.consent.sync`, a full sync).

The floor, measured in the same run on its own freshly seeded portal: the pass as it was before
(a counting call, then one list call a request with `>ID` paging), reading only for a dry run and
writing the same batches of 50 updates for `--apply`. Each measurement starts on a new portal (a
full bucket, the CRM as seeded). The emulator serves from a thread of this process, so its own
work on each list call (a filter over every contact) is inside the seconds, as a portal's
database time would be.

Run: `python -m bench.crm_read [--contacts 5000 50000] [--floor-apply-max 5000] [--consent-only]
[--database-url URL]`. The `--apply`
floor of larger CRMs is not measured unless asked (50,000 contacts take ~15 minutes at 2
requests/s); its requests are then the read floor's plus the same write batches.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import secrets
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import SecretStr
from sqlmodel import Session

from clients.bitrix24.client import MAX_BATCH, PAGE_SIZE, Bitrix24Client
from models import Portal
from models.database import make_sync_engine
from models.migrate import upgrade
from sandbox.bitrix24.authserver import AuthorizationServer
from sandbox.bitrix24.portal import PortalEmulator
from sandbox.bitrix24.seed import phones_of
from sandbox.bitrix24.serve import portal_app, served_at
from sandbox.server import BackgroundServer
from smsbridge.config import Settings, load_settings
from smsbridge.normalize.plan import PhoneChange, PhoneNormalizer
from smsbridge.normalize.run import NormalizeReport, PassTally, normalize_portals, write_changes
from smsbridge.policy import consent
from smsbridge.portals.client import portal_client
from smsbridge.progress import ProgressCallback
from smsbridge.runtime import Runtime, runtime

CONSENT_EVERY = 3  # one contact in three has consented
GIVEN = "2026-01-15T10:00:00+03:00"


@dataclass(frozen=True)
class Figure:
    requests: int
    seconds: float
    items: int


Work = Callable[[Runtime, Bitrix24Client, Portal], Awaitable[int]]


async def unobserved(done: int, total: int) -> None:
    return None


def no_progress(tally: PassTally) -> ProgressCallback:
    return unobserved


async def batch_dry(rt: Runtime, client: Bitrix24Client, portal: Portal) -> int:
    report = await normalize_portals(
        rt, no_progress, member_id=portal.member_id, entities=("contact",)
    )
    return report.summary()["items"]


async def batch_apply(rt: Runtime, client: Bitrix24Client, portal: Portal) -> int:
    report = await normalize_portals(
        rt, no_progress, member_id=portal.member_id, entities=("contact",), dry_run=False
    )
    assert not report.failures and not report.aborted, report.summary()
    return report.summary()["items"]


async def floor(client: Bitrix24Client, member_id: str, *, apply: bool) -> int:
    """The pass before `batch` reading: count, then one list call a request; same writes."""
    report = NormalizeReport(dry_run=not apply)
    tally = PassTally(member_id, "contact", 0)
    normalizer = PhoneNormalizer()
    await client.call_full("crm.contact.list", {"select": ["ID"], "start": 0})
    pending: dict[int, list[PhoneChange]] = {}
    async for row in client.list_all("crm.contact.list", {"select": ["ID", "PHONE"]}):
        tally.items += 1
        changes = normalizer.plan(row.get("PHONE") or []).changes
        if apply and changes:
            pending[int(row["ID"])] = changes
            if len(pending) == MAX_BATCH:
                await write_changes(client, "contact", pending, tally, report)
    if pending:
        await write_changes(client, "contact", pending, tally, report)
    assert not report.failures
    return tally.items


async def floor_dry(rt: Runtime, client: Bitrix24Client, portal: Portal) -> int:
    return await floor(client, portal.member_id, apply=False)


async def floor_apply(rt: Runtime, client: Bitrix24Client, portal: Portal) -> int:
    return await floor(client, portal.member_id, apply=True)


async def consent_sync(rt: Runtime, client: Bitrix24Client, portal: Portal) -> int:
    result = await consent.sync(rt.sessions, client, portal, full=True)
    assert result.given > 0
    return result.read


def seed(emulator: PortalEmulator, contacts: int) -> None:
    for i in range(contacts):
        consented = {"UF_CRM_SMS_CONSENT": GIVEN} if i % CONSENT_EVERY == 0 else {}
        emulator.add_contact(f"Контакт {i}", phones_of(i), **consented)


def store_portal(database_url: str, emulator: PortalEmulator) -> Portal:
    tokens = emulator.issue_tokens()
    engine = make_sync_engine(database_url)
    with Session(engine) as session:
        portal = Portal(
            member_id=emulator.member_id,
            domain="bench.bitrix24.ru",
            client_endpoint=tokens["client_endpoint"],
            oauth_server=emulator.oauth_url,
            access_token=tokens["access_token"],
            refresh_token=tokens["refresh_token"],
            access_expires_at=datetime.now(UTC) + timedelta(seconds=tokens["expires_in"]),
        )
        session.add(portal)
        session.commit()
        session.refresh(portal)
    engine.dispose()
    return portal


@asynccontextmanager
async def served(contacts: int, settings: Settings) -> AsyncIterator[tuple[PortalEmulator, Portal]]:
    """A new portal with `contacts` seeded, stored as installed, its bucket full and fresh."""
    # A member_id of its own (a new row), tokens that outlive the longest measurement.
    emulator = PortalEmulator(secrets.token_hex(16), token_ttl=24 * 3600.0)
    authorization = AuthorizationServer()
    with BackgroundServer(portal_app(emulator, authorization)) as server:
        served_at(emulator, authorization, server.url)
        portal = store_portal(settings.database_url, emulator)
        async with runtime(settings) as rt:
            assert portal.id is not None
            client = portal_client(rt.sessions, settings, rt.http, portal.id)
            await consent.ensure_fields(client)  # 4 requests, before the bucket is refilled
        seed(emulator, contacts)
        await asyncio.sleep(3 / emulator.rate)  # those 4 requests drain (seeding took longer)
        yield emulator, portal


async def measure(contacts: int, settings: Settings, work: Work) -> Figure:
    async with served(contacts, settings) as (emulator, portal), runtime(settings) as rt:
        assert portal.id is not None
        client = portal_client(rt.sessions, settings, rt.http, portal.id)
        before = len(emulator.request_log)
        started = time.perf_counter()
        items = await work(rt, client, portal)
        seconds = time.perf_counter() - started
        log = emulator.request_log[before:]
    refused = sum(1 for request in log if request.status == 503)
    assert refused == 0, f"{refused} requests refused with 503: the limiter let too many go"
    return Figure(len(log), seconds, items)


def settings_for(database_url: str) -> Settings:
    return load_settings(
        _env_file=None,
        database_url=database_url,
        webhook_secret="bench-crm-read-webhook-secret",
        smsru_api_id=SecretStr("bench-crm-read-key"),
    )


def line(name: str, figure: Figure, baseline: Figure | None) -> str:
    text = f"  {name:<28} {figure.requests:>6} requests {figure.seconds:>8.1f} s"
    if baseline is not None:
        text += (
            f"   {baseline.requests / figure.requests:5.1f}× fewer requests, "
            f"{baseline.seconds / figure.seconds:5.1f}× faster than the floor"
        )
    return text


def run(
    sizes: list[int], floor_apply_max: int, database_url: str | None, *, consent_only: bool
) -> None:
    with tempfile.TemporaryDirectory(prefix="smsbridge-bench-") as folder:
        url = database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
        settings = settings_for(url)
        for contacts in sizes:
            print(f"{contacts:,} contacts (portal limit 2 requests/s, burst 50):", flush=True)

            def go(work: Work, size: int = contacts) -> Figure:
                return asyncio.run(measure(size, settings, work))

            if consent_only:
                print(line("consent sync, batch", go(consent_sync), None), flush=True)
                continue
            read_floor = go(floor_dry)
            print(line("dry run, floor", read_floor, None), flush=True)
            print(line("dry run, batch", go(batch_dry), read_floor), flush=True)
            apply_floor = go(floor_apply) if contacts <= floor_apply_max else None
            if apply_floor is not None:
                print(line("--apply, floor", apply_floor, None), flush=True)
            applied = go(batch_apply)
            print(line("--apply, batch", applied, apply_floor), flush=True)
            if apply_floor is None:
                reads = 1 + math.ceil(max(0, contacts - PAGE_SIZE) / (PAGE_SIZE * MAX_BATCH))
                writes = applied.requests - reads
                print(
                    f"  --apply, floor not measured: {read_floor.requests + writes} requests "
                    "(the read floor's and the same write batches)",
                    flush=True,
                )
            print(line("consent sync, batch", go(consent_sync), read_floor), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, nargs="+", default=[5_000, 50_000])
    parser.add_argument("--floor-apply-max", type=int, default=5_000)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument(
        "--consent-only", action="store_true", help="only consent sync (no floor to compare)"
    )
    args = parser.parse_args()
    run(args.contacts, args.floor_apply_max, args.database_url, consent_only=args.consent_only)


if __name__ == "__main__":
    main()
