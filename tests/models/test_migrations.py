"""Migrations run on a database that has rows, as an upgrade meets a running service's data.

Each test migrates a blank database of its own (a file on SQLite, a schema of its own on the
PostgreSQL that `DATABASE_URL` names), never the session's.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import MetaData, Table, insert, select
from sqlalchemy.engine import URL

import models  # noqa: F401  (registers every table on SQLModel.metadata)
from models.database import make_sync_engine
from models.migrate import upgrade

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
# Rows as 0003 holds them, worded as intake and the sender wrote them: (state, send_code, error)
# → the failure kind 0004 gives them.
FAILURE_KINDS = [
    ("failed", None, "message_to: not a phone number", "invalid_number"),
    ("failed", None, "message_to: not a valid phone number", "invalid_number"),
    ("failed", None, "message_body is empty", "empty_text"),
    ("failed", None, "text needs 9 SMS; SMS.ru sends at most 8", "too_long"),
    (
        "failed",
        None,
        "the send was interrupted before SMS.ru answered; SMS.ru may or may not have accepted "
        "it, and it is not resent because a resend could deliver it twice (ReadTimeout)",
        "interrupted",
    ),
    (
        "failed",
        None,
        "gave up: SMS.ru could not take it for too long (SMS.ru 220: busy)",
        "gave_up",
    ),
    ("failed", None, "SMS.ru's reply has no result for this number; not resent", "no_result"),
    ("failed", 207, "SMS.ru 207: На этот номер нет маршрута", "refused"),
    ("failed", None, "a text nobody wrote", None),  # no kind is guessed
    ("queued", None, "SMS.ru 220: busy", None),  # a retry's reason is no failure
    ("undelivered", None, None, None),  # SMS.ru's verdict: its status code tells why
    ("delivered", None, None, None),
]


def test_0004_gives_each_stored_failure_its_kind(empty_database: URL) -> None:
    upgrade(empty_database, "0003")
    engine = make_sync_engine(empty_database)
    with engine.begin() as connection:
        tables = MetaData()
        portals = Table("portals", tables, autoload_with=connection)
        messages = Table("messages", tables, autoload_with=connection)
        connection.execute(
            insert(portals).values(
                id=1, member_id="p", domain="", client_endpoint="", created_at=NOW, updated_at=NOW
            )
        )
        connection.execute(
            insert(messages),
            [
                {
                    "portal_id": 1,
                    "message_id": f"m{n}",
                    "provider_code": "smsru",
                    "kind": "transactional",
                    "source": "card",
                    "recipient_raw": "+79255070602",
                    "text": "текст",
                    "encoding": "ucs2",
                    "segments": 1,
                    "state": state,
                    "send_code": send_code,
                    "error": error,
                    "attempts": 1,
                    "next_attempt_at": NOW,
                    "accepted_at": NOW,
                    "updated_at": NOW,
                }
                for n, (state, send_code, error, _) in enumerate(FAILURE_KINDS)
            ],
        )
    engine.dispose()

    upgrade(empty_database)

    engine = make_sync_engine(empty_database)
    with engine.connect() as connection:
        messages = Table("messages", MetaData(), autoload_with=connection)
        stored = connection.execute(select(messages.c.failure).order_by(messages.c.id)).scalars()
        assert list(stored) == [kind for *_, kind in FAILURE_KINDS]
    engine.dispose()
