"""`INSERT … ON CONFLICT DO NOTHING` for whichever backend we run on.

Idempotent intake rests on it: a repeated (or concurrent) message_id inserts nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert
from sqlmodel.ext.asyncio.session import AsyncSession


def insert_ignoring_conflicts(dialect: str, table: Any, *conflict_columns: str) -> Insert:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))


def dialect_of(session: AsyncSession) -> str:
    return session.sync_session.get_bind().dialect.name
