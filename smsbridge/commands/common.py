"""What every command does first, and what its exit codes mean."""

from __future__ import annotations

import logging
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from models.migrate import upgrade
from smsbridge import logs
from smsbridge.config import ConfigError, Settings, load_settings

EXIT_FAILED = 1  # the work failed or stopped early; the message says why
EXIT_CONFIG = 2  # bad arguments or configuration; nothing was done

console = Console(stderr=True)


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    console.print(f"[red]{escape(message)}[/red]")
    raise typer.Exit(code)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        fail(str(exc), EXIT_CONFIG)


def prepare(log_level: int = logging.WARNING) -> Settings:
    """Settings (exit 2 if invalid), logging (warnings only by default: INFO lines would break
    the progress bars), and a database at the current schema."""
    settings = settings_or_exit()
    logs.configure(log_level)
    upgrade(settings.database)
    return settings
