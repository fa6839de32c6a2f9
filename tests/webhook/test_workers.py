"""Workers stop promptly: a retry's backoff ends when they are told to stop."""

from __future__ import annotations

import asyncio

from webhook.workers import Workers


class Backing(Workers):
    """One round: a backoff of a minute (as while Bitrix24 is down), then the round ends."""

    def __init__(self) -> None:
        super().__init__(count=1, idle_poll=0.01)
        self.napping = asyncio.Event()
        self.rounds_finished = 0

    async def run_once(self) -> int:
        self.napping.set()
        await self.nap(60)
        self.rounds_finished += 1
        return 1


async def _stop_while_napping() -> Backing:
    worker = Backing()
    worker.start()
    await asyncio.wait_for(worker.napping.wait(), 5)
    await worker.stop(grace=5)
    return worker


def test_a_backoff_ends_when_the_worker_stops_and_the_round_finishes() -> None:
    worker = asyncio.run(_stop_while_napping())
    # Not cancelled at the grace's end: the nap ended and the round ran to its end.
    assert worker.rounds_finished == 1
    assert not worker.running
