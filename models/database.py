"""Database engines: async for the webhook and its workers, sync for migrations and the CLI.

`DATABASE_URL` names the backend; the driver is ours to choose (aiosqlite / psycopg 3).
SQLite runs in WAL mode with full fsync, so a committed message survives a crash and a power loss,
and every transaction takes the write lock up front (`BEGIN IMMEDIATE`) so that two writers queue
on the busy timeout instead of failing with "database is locked".
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _with_driver(url: URL | str, *, asynchronous: bool) -> URL:
    url = make_url(url)
    if url.get_backend_name() == "sqlite":
        return url.set(drivername="sqlite+aiosqlite" if asynchronous else "sqlite")
    return url.set(drivername="postgresql+psycopg")


def sync_url(url: URL | str) -> URL:
    return _with_driver(url, asynchronous=False)


def async_url(url: URL | str) -> URL:
    return _with_driver(url, asynchronous=True)


def _prepare_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_sync_engine(url: URL | str) -> Engine:
    engine = create_engine(sync_url(url), pool_pre_ping=True, hide_parameters=True)
    if engine.dialect.name == "sqlite":
        _prepare_sqlite(engine)
    return engine


def make_async_engine(url: URL | str, *, pool_size: int = 10) -> AsyncEngine:
    target = async_url(url)
    # hide_parameters: an error message must not carry the values (tokens, phone numbers).
    options: dict[str, Any] = {"hide_parameters": True}
    if target.get_backend_name() == "postgresql":
        # A ping per checkout finds a connection the server dropped before a message meets it.
        # (A SQLite file has no server to drop it, and there each statement is a thread hop.)
        options.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    engine = create_async_engine(target, **options)
    if engine.dialect.name == "sqlite":
        _prepare_sqlite(engine.sync_engine)
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
