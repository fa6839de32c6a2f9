"""An empty database of a test's own, on the backend the suite runs on: migrations start there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from models.database import make_sync_engine

EMPTY_SCHEMA = "upgrade_from_empty"


@pytest.fixture
def empty_database(database_url: str, tmp_path: Path) -> Iterator[URL]:
    """A database with nothing in it: a new SQLite file, or a new PostgreSQL schema (first on
    the connection's search path) beside the session's."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        yield url.set(database=str(tmp_path / "empty.db"))
        return
    engine = make_sync_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {EMPTY_SCHEMA} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {EMPTY_SCHEMA}"))
    try:
        yield url.update_query_dict({"options": f"-csearch_path={EMPTY_SCHEMA}"})
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {EMPTY_SCHEMA} CASCADE"))
        engine.dispose()
