"""`maintain-sent-flags` (hourly): the duplicate-send flag kept true on every installed portal.

Creates `UF_CRM_SMS_SENT` on deals and leads where missing, writes the flags whose write failed,
and, for portals with a retention, clears flags older than it so recurring scenarios fire again.
It also applies every portal's message retention (texts and numbers past `retention_days` are
erased; the figures stay), installed or not: personal data must not outlive it.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prefect import flow

from flows.artifacts import publish_markdown
from smsbridge.config import Settings
from smsbridge.portals.client import portal_client
from smsbridge.portals.lifecycle import erase_expired
from smsbridge.portals.lookup import installed
from smsbridge.runtime import runtime
from smsbridge.sent_flag.maintenance import maintain


@flow(name="maintain-sent-flags", log_prints=True)
async def maintain_sent_flags(
    member_id: str | None = None, settings: Settings | None = None
) -> list[dict[str, Any]]:
    async with runtime(settings) as rt:
        async with rt.sessions() as session:
            erased = await erase_expired(session)
            portals = await installed(session, member_id)
        results = []
        for portal in portals:
            assert portal.id is not None
            client = portal_client(rt.sessions, rt.settings, rt.http, portal.id)
            results.append(await maintain(rt, client, portal))
    rows = "".join(
        f"| {r.member_id} | {', '.join(r.fields_created) or '—'} | {r.backfilled} "
        f"| {r.still_failing} | {r.cleared} |\n"
        for r in results
    )
    await publish_markdown(
        "maintain-sent-flags",
        "# Sent flags (UF_CRM_SMS_SENT)\n\n"
        "| portal | field created on | backfilled | still failing | cleared (retention) |\n"
        "|---|---|---|---|---|\n" + rows,
        "Duplicate-send flags backfilled and cleared",
    )
    print(
        f"{len(results)} portal(s): {sum(r.backfilled for r in results)} backfilled, "
        f"{sum(r.cleared for r in results)} cleared; {erased} message(s) past retention erased"
    )
    return [asdict(r) for r in results]
