"""One of the processes in the refresh race: wait for the start file, refresh, print the token."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from smsbridge.portals.tokens import PortalTokens
from smsbridge.runtime import runtime


def wait_for_file(go: Path) -> None:
    """Spin, not sleep: the four processes should start their refresh within a millisecond."""
    while not go.exists():
        time.sleep(0.0005)


async def main(portal_id: int, go: Path) -> None:
    async with runtime() as rt:
        tokens = PortalTokens(rt.sessions, rt.settings, rt.http, portal_id)
        stale = await tokens.current()
        print("ready", flush=True)
        await asyncio.to_thread(wait_for_file, go)
        fresh = await tokens.refreshed(stale)
        print(fresh.access_token, flush=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), Path(sys.argv[2])))
