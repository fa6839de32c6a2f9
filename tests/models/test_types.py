"""`UTCDateTime` on the real database: an aware time is stored as UTC and comes back as the same
instant, aware; SQL compares instants (on SQLite, UTC text); a naive time is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import StatementError
from sqlmodel import Session, col, select
from support.rows import queued_message

from models import Message, Portal
from models.types import max_length

MOSCOW = timezone(timedelta(hours=3))
NEW_YORK = timezone(timedelta(hours=-5))


def test_an_aware_time_comes_back_as_the_same_instant_in_utc(
    engine: Engine, portal: Portal
) -> None:
    at = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=MOSCOW)
    with Session(engine) as session:
        session.add(queued_message(portal, "79255070602", "hi", sent_at=at))
        session.commit()

    with Session(engine) as session:
        stored = session.exec(select(Message.sent_at)).one()
        raw = session.execute(text("SELECT sent_at FROM messages")).scalar()

    assert stored == at and stored is not None
    assert stored.tzinfo is UTC and stored.hour == 9
    # What the column holds: the UTC wall time (SQLite keeps it as text, without a zone).
    held = raw if isinstance(raw, datetime) else datetime.fromisoformat(raw).replace(tzinfo=UTC)
    assert held == at and held.astimezone(UTC).hour == 9


def test_comparisons_in_sql_are_between_instants(engine: Engine, portal: Portal) -> None:
    noon = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    with Session(engine) as session:
        for name, at in (
            ("earlier", datetime(2026, 3, 1, 14, 59, tzinfo=MOSCOW)),  # 11:59 UTC
            ("same", datetime(2026, 3, 1, 7, 0, tzinfo=NEW_YORK)),  # 12:00 UTC
            ("later", datetime(2026, 3, 1, 12, 1, tzinfo=UTC)),
        ):
            session.add(queued_message(portal, "79255070602", name, next_poll_at=at))
        session.commit()
        due = session.exec(
            select(Message.text)
            .where(col(Message.next_poll_at) <= noon.astimezone(NEW_YORK))
            .order_by(col(Message.next_poll_at))
        ).all()
    assert due == ["earlier", "same"]


def test_a_naive_time_is_refused(engine: Engine, portal: Portal) -> None:
    with Session(engine) as session:
        session.add(
            queued_message(portal, "79255070602", "hi", sent_at=datetime(2026, 3, 1, 12, 0))
        )
        with pytest.raises(StatementError, match="naive datetime given"):
            session.commit()


def test_max_length_reads_the_column() -> None:
    assert max_length(Portal.member_id) == 64
    assert max_length(Message.provider_code) == 128
    assert max_length(Portal.auth_error) == 500


def test_max_length_refuses_a_column_without_one() -> None:
    with pytest.raises(TypeError, match=r"Message\.text"):
        max_length(Message.text)
    with pytest.raises(TypeError, match=r"Message\.segments"):
        max_length(Message.segments)
