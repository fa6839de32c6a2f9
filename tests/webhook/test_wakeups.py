"""Wake-ups across processes: a NOTIFY from intake reaches every LISTENing worker, coalesced."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

from sqlalchemy.engine import make_url
from support.databases import postgres_only

from webhook.wakeups import PUSHER, SENDER, Listener, Notifier

pytestmark = postgres_only(
    "LISTEN/NOTIFY is PostgreSQL's; on SQLite the workers' idle poll is the wake-up"
)


def test_a_burst_of_wake_ups_is_one_notify_heard_by_every_listener(database_url: str) -> None:
    url = make_url(database_url)

    async def scenario() -> list[Counter[str]]:
        heard: list[Counter[str]] = [Counter(), Counter()]  # two worker processes
        changed = asyncio.Event()

        def waker(counts: Counter[str], name: str) -> Callable[[], None]:
            def wake() -> None:
                counts.update([name])
                changed.set()

            return wake

        async def until(condition: Callable[[], bool]) -> None:
            async with asyncio.timeout(10):
                while True:
                    changed.clear()
                    if condition():
                        return
                    await changed.wait()

        tasks = [
            asyncio.create_task(
                Listener(url, {SENDER: waker(c, "sender"), PUSHER: waker(c, "pusher")}).run()
            )
            for c in heard
        ]
        # On (re)connecting, a listener wakes everything once: work may have come meanwhile.
        await until(lambda: all(c == Counter(sender=1, pusher=1) for c in heard))
        notifier = Notifier(url)
        tasks.append(asyncio.create_task(notifier.run()))
        wake_sender = notifier.waker(SENDER)
        for _ in range(100):  # a group commit's worth of handler requests
            wake_sender()
        await until(lambda: all(c["sender"] == 2 for c in heard))
        await asyncio.sleep(0.3)  # room for any further notification to arrive
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return heard

    heard = asyncio.run(scenario())
    assert heard == [Counter(sender=2, pusher=1)] * 2  # one NOTIFY for the burst, to each
