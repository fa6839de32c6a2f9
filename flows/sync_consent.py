"""`sync-consent` (hourly, and on demand): consent to marketing read from each portal's CRM.

Only portals that require consent are read; each run reads what changed since the last.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prefect import flow

from smsbridge.config import Settings
from smsbridge.policy import consent
from smsbridge.policy.refusals import CONSENT_REQUIRED
from smsbridge.portals.client import portal_client
from smsbridge.portals.lookup import installed
from smsbridge.runtime import runtime


@flow(name="sync-consent", log_prints=True)
async def sync_consent(
    member_id: str | None = None, full: bool = False, settings: Settings | None = None
) -> dict[str, dict[str, Any]]:
    async with runtime(settings) as rt:
        async with rt.sessions() as session:
            portals = await installed(session, member_id)
        results = {}
        for portal in portals:
            if member_id is None and portal.marketing_consent != CONSENT_REQUIRED:
                continue
            assert portal.id is not None
            client = portal_client(rt.sessions, rt.settings, rt.http, portal.id)
            result = await consent.sync(rt.sessions, client, portal, full=full)
            print(f"{portal.member_id}: {result}")
            results[portal.member_id] = asdict(result)
    return results
