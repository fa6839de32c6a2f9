"""Schema migrations (Alembic), safe to run from several replicas at once."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.engine import URL

from models.database import make_sync_engine

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant: replicas starting together take turns on this PostgreSQL advisory lock.
_ADVISORY_LOCK = 7_346_501


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(url: URL | str, revision: str = "head") -> None:
    engine = make_sync_engine(url)
    try:
        with engine.connect() as connection:
            postgres = connection.dialect.name == "postgresql"
            if postgres:
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _ADVISORY_LOCK})
                connection.commit()
            try:
                command.upgrade(_config(connection), revision)
                connection.commit()
            finally:
                if postgres:
                    connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": _ADVISORY_LOCK}
                    )
                    connection.commit()
    finally:
        engine.dispose()
