"""Migrations from an empty database: they build exactly the tables the models declare, say when
they are current, and run again as a no-op (every replica runs them at start), without loading
Alembic when the database is current."""

from __future__ import annotations

import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import URL
from sqlmodel import SQLModel

import models  # noqa: F401  (registers every table on SQLModel.metadata)
from models.database import make_sync_engine
from models.migrate import HEAD, MIGRATIONS, upgrade


def test_an_empty_database_is_upgraded_to_the_models(empty_database: URL) -> None:
    upgrade(empty_database)

    engine = make_sync_engine(empty_database)
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            drift = compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()
    assert tables == set(SQLModel.metadata.tables) | {"alembic_version"}
    assert drift == []  # the migrations and the models describe the same schema


def schema_and_version(url: URL) -> tuple[dict[str, list[str]], str]:
    engine = make_sync_engine(url)
    try:
        with engine.connect() as connection:
            inspector = inspect(connection)
            columns = {
                table: sorted(column["name"] for column in inspector.get_columns(table))
                for table in inspector.get_table_names()
            }
            version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()
    return columns, str(version)


def test_upgrading_a_current_database_changes_nothing(empty_database: URL) -> None:
    upgrade(empty_database)
    before = schema_and_version(empty_database)
    upgrade(empty_database)  # what a second replica starting does
    assert schema_and_version(empty_database) == before


def test_head_is_the_newest_migration() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD


def test_a_current_database_is_checked_without_loading_alembic(empty_database: URL) -> None:
    """Every process and CLI command upgrades at start: when nothing is to do, one query."""
    upgrade(empty_database)
    url = empty_database.render_as_string(hide_password=False)
    probe = (
        "import sys; from models.migrate import upgrade; upgrade(sys.argv[1]); "
        "print(sorted(name for name in sys.modules if name.startswith('alembic')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, url], capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stdout.strip()) == (0, "[]"), result.stderr
