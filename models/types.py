"""Column types shared by the tables, and what a column holds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# 64-bit ids, except on SQLite, which autoincrements only an INTEGER PRIMARY KEY.
BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite drops the zone; we put it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def max_length(column: Any) -> int:
    """The characters a string column holds (its `max_length`): validators read their limits
    here, so that a value the table cannot store is refused with a reason, not truncated or
    failed by the database. `column` is a model attribute, e.g. `Portal.member_id`."""
    length = getattr(column.type, "length", None)  # String, or AutoString (a TypeDecorator)
    if not isinstance(length, int):
        raise TypeError(f"{column} is not a string column of bounded length")
    return length
