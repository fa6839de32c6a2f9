"""`poll-statuses`: the statuses SMS.ru's callbacks did not bring, asked for every 30 seconds.

Callbacks are the fast path; this flow is the net under them (a lost callback, a receiver that
was down longer than SMS.ru retries). Each message is polled on a backoff schedule, so a pass asks
only for what is due, 100 ids per `/sms/status` call.

The deployment starts one run an hour that makes a pass every 30 s inside it (`window`), rather
than a run every 30 s: a flow run costs a new process, five log lines and an artifact, which an
idle service paid 2,880 times a day. A pass with nothing due writes nothing; the run ends with one
summary line and one artifact. Called without `window` (tests, on demand) it makes one pass.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, fields

from prefect import flow

from flows.artifacts import publish_markdown
from smsbridge.config import Settings
from smsbridge.runtime import runtime
from smsbridge.status.poll import PollSummary, poll_due

CADENCE = 30.0  # seconds between passes
log = logging.getLogger("smsbridge.poll")


@flow(name="poll-statuses", log_prints=True)
async def poll_statuses(
    settings: Settings | None = None, window: float = 0.0, every: float = CADENCE
) -> dict[str, int]:
    """Poll what is due; with `window` > 0, again every `every` seconds until `window` seconds
    after the run's scheduled start, less one pass (so the next scheduled run is never refused
    as overlapping, however late this one started)."""
    deadline = _scheduled_start() + window - every
    total = PollSummary()
    stop = asyncio.Event()
    async with runtime(settings) as rt:
        with _stop_on_sigterm(stop):
            while True:
                summary = await poll_due(rt.sessions, rt.settings, rt.http)
                _add(total, summary)
                if summary.due:
                    log.info(
                        "polled %s of %s due; %s advanced",
                        *(summary.polled, summary.due, summary.advanced),
                    )
                if time.time() + every > deadline or await _stopped(stop, every):
                    break
    await publish_markdown(
        "poll-statuses",
        (
            "# Status poll\n\n| due | polled | advanced | failed calls | no SMS.ru key |\n"
            "|---|---|---|---|---|\n"
            f"| {total.due} | {total.polled} | {total.advanced} | {total.failed_calls} "
            f"| {total.no_key} |\n"
        ),
        "Messages polled at SMS.ru in this run",
    )
    print(f"polled {total.polled} of {total.due} due; {total.advanced} advanced")
    return asdict(total)


async def _stopped(stop: asyncio.Event, seconds: float) -> bool:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return False
    return True


@contextmanager
def _stop_on_sigterm(stop: asyncio.Event) -> Iterator[None]:
    """SIGTERM (the service stopping) ends the run after its current pass, as a completed run:
    Prefect's own handler would kill it mid-pass with a traceback in the service's log."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    previous = signal.signal(signal.SIGTERM, lambda *_: loop.call_soon_threadsafe(stop.set))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _scheduled_start() -> float:
    """The run's scheduled start (epoch seconds); now outside a deployment's run."""
    from prefect.runtime import flow_run

    scheduled = flow_run.scheduled_start_time
    return scheduled.timestamp() if scheduled is not None else time.time()


def _add(total: PollSummary, summary: PollSummary) -> None:
    for field in fields(PollSummary):
        setattr(total, field.name, getattr(total, field.name) + getattr(summary, field.name))
