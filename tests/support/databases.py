"""Which database the suite runs on: SQLite by default; CI runs it all on SQLite, then again on
PostgreSQL every test that reaches the database (`--database-only`)."""

from __future__ import annotations

import os

import pytest

ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgresql")


def postgres_only(why: str) -> pytest.MarkDecorator:
    """For what exists only on PostgreSQL (several processes on one database, LISTEN/NOTIFY)."""
    return pytest.mark.skipif(not ON_POSTGRES, reason=f"needs PostgreSQL: {why}")


def examples(count: int) -> int:
    """How many inputs a property over HTTP draws: half of `count`, or a quarter on PostgreSQL.

    Each input is a request to a running webhook, and CI's two passes share two cores under a
    15-minute limit: these tests were a tenth of its time. The examples are derandomized, so
    PostgreSQL gets the first half of the very inputs SQLite's pass draws; what differs between
    the databases is only how a request's rows are stored."""
    return max(1, count // 4 if ON_POSTGRES else count // 2)
