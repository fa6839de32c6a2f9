"""What every command does first, and what its exit codes mean."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError

from models.database import make_sync_engine
from models.migrate import upgrade
from smsbridge import logs
from smsbridge.config import ConfigError, Settings, load_settings

EXIT_FAILED = 1  # the work failed or stopped early; the message says why
EXIT_CONFIG = 2  # bad arguments or configuration; nothing was done

console = Console(stderr=True, soft_wrap=True)
# Click's plain help: flags read `--apply / --dry-run`, not `--apply <bool>`.
TYPER_STYLE: dict[str, Any] = {"no_args_is_help": True, "rich_markup_mode": None}


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    console.print(f"[red]{escape(message)}[/red]")
    raise typer.Exit(code)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        fail(str(exc), EXIT_CONFIG)


def database_name(settings: Settings) -> str:
    """The database as a user would recognise it: the file's absolute path, or the URL without
    its password."""
    url = settings.database
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return str(Path(url.database).resolve())
    return url.render_as_string(hide_password=True)


def require_schema(settings: Settings) -> None:
    """For read-only commands: exit 1 saying what to do when the tables are not there (a fresh
    directory), instead of creating a database where the user may not have meant one."""
    url = settings.database
    missing = url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file()
    if not missing:
        engine = make_sync_engine(url)
        try:
            missing = not inspect(engine).has_table("portals")
        except SQLAlchemyError as exc:
            fail(f"cannot read the database {database_name(settings)}: {exc.__class__.__name__}")
        finally:
            engine.dispose()
    if missing:
        fail(
            f"no smsbridge database at {database_name(settings)} yet: run `smsbridge db upgrade` "
            "(or `make run`) in the directory that should hold it, or set DATABASE_URL"
        )


def prepare(log_level: int = logging.WARNING) -> Settings:
    """Settings (exit 2 if invalid), logging (warnings only by default: INFO lines would break
    the progress bars), and a database at the current schema."""
    settings = settings_or_exit()
    logs.configure(log_level)
    upgrade(settings.database)
    return settings


class ProgressBar:
    """A `ProgressCallback` shown as one bar of a rich `Progress` (added at once, its total
    unknown until the work tells it)."""

    def __init__(self, bars: Progress, description: str) -> None:
        self._bars = bars
        self._task = bars.add_task(description, total=None)

    async def __call__(self, done: int, total: int, /) -> None:
        self._bars.update(self._task, completed=done, total=total)
