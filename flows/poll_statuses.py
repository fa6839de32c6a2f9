"""`poll-statuses`: the statuses SMS.ru's callbacks did not bring, asked for every 30 seconds.

Callbacks are the fast path; this flow is the net under them (a lost callback, a receiver that
was down longer than SMS.ru retries). Each message is polled on a backoff schedule, so a run asks
only for what is due, 100 ids per `/sms/status` call.
"""

from __future__ import annotations

from dataclasses import asdict

from prefect import flow

from flows.artifacts import publish_markdown
from smsbridge.config import Settings
from smsbridge.runtime import runtime
from smsbridge.status_poll import poll_due


@flow(name="poll-statuses", log_prints=True)
async def poll_statuses(settings: Settings | None = None) -> dict[str, int]:
    async with runtime(settings) as rt:
        summary = await poll_due(rt.sessions, rt.settings, rt.http)
    await publish_markdown(
        "poll-statuses",
        (
            "# Status poll\n\n| due | polled | advanced | failed calls | no SMS.ru key |\n"
            "|---|---|---|---|---|\n"
            f"| {summary.due} | {summary.polled} | {summary.advanced} | {summary.failed_calls} "
            f"| {summary.no_key} |\n"
        ),
        "Messages polled at SMS.ru in this run",
    )
    print(f"polled {summary.polled} of {summary.due} due; {summary.advanced} advanced")
    return asdict(summary)
