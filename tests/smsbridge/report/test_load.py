"""Reading the report's rows: one query over the UTC window, in chunks, with progress."""

from __future__ import annotations

from report_support import seed, seeded_days
from sqlalchemy import Engine

from smsbridge.config import Settings
from smsbridge.report.figures import compute
from smsbridge.report.load import read_messages


def test_the_read_goes_in_chunks_and_tells_its_progress(engine: Engine, settings: Settings) -> None:
    seed(engine)
    days = seeded_days(engine)
    seen: list[tuple[int, int]] = []

    chunked = read_messages(
        settings.database, days, chunk_rows=7, progress=lambda *a: seen.append(a)
    )
    whole = read_messages(settings.database, days)

    # The window runs from Vladivostok's midnight to Moscow's: 17 messages of the day and the
    # three outside a portal's own day but inside the other's.
    assert seen == [(7, 20), (14, 20), (20, 20)]
    assert chunked.equals(whole)
    assert compute(chunked, days).total == compute(whole, days).total
