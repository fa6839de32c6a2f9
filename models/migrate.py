"""Schema migrations (Alembic), safe to run from several replicas at once.

Every process and every data command of the CLI upgrades at start, and nearly always the database
is current already. That case is one query against `HEAD`: Alembic (about 800 modules with
SQLAlchemy's dialects, and every migration script) is loaded only when there is work to do.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text
from sqlalchemy.engine import URL

from models.database import make_sync_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest migration's revision; a test holds it to what Alembic finds in MIGRATIONS.
HEAD = "0010"
# Any constant: replicas starting together take turns on this PostgreSQL advisory lock.
_ADVISORY_LOCK = 7_346_501


def _config(connection: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at; None before the first migration."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(url: URL | str, revision: str = "head") -> None:
    engine = make_sync_engine(url)
    try:
        with engine.connect() as connection:
            if revision == "head" and current_revision(connection) == HEAD:
                return
            connection.rollback()  # the look above began a transaction; the lock is taken anew
            _upgrade_locked(connection, revision)
    finally:
        engine.dispose()


def _upgrade_locked(connection: Connection, revision: str) -> None:
    from alembic import command

    postgres = connection.dialect.name == "postgresql"
    if postgres:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _ADVISORY_LOCK})
        connection.commit()
    try:
        command.upgrade(_config(connection), revision)
        connection.commit()
    finally:
        if postgres:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _ADVISORY_LOCK})
            connection.commit()
