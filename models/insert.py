"""`INSERT … ON CONFLICT` (DO NOTHING, DO UPDATE) for whichever backend we run on.

Idempotent intake rests on DO NOTHING: a repeated (or concurrent) message_id inserts nothing.
DO UPDATE lets a batch of rows be written in one statement, whichever of them are there already.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.ext.asyncio.session import AsyncSession

DialectInsert = postgresql.Insert | sqlite.Insert


def insert_ignoring_conflicts(dialect: str, table: Any, *conflict_columns: str) -> DialectInsert:
    return _insert(dialect, table).on_conflict_do_nothing(index_elements=list(conflict_columns))


def insert_replacing_conflicts(dialect: str, table: Any, *conflict_columns: str) -> DialectInsert:
    """A row whose key is taken overwrites the other columns of the row there (an upsert)."""
    insert = _insert(dialect, table)
    replaced = {
        column.name: insert.excluded[column.name]
        for column in insert.table.columns
        if column.name not in conflict_columns
    }
    return insert.on_conflict_do_update(index_elements=list(conflict_columns), set_=replaced)


def dialect_of(session: AsyncSession) -> str:
    return session.sync_session.get_bind().dialect.name


def _insert(dialect: str, table: Any) -> DialectInsert:
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
