"""`smsbridge normalize-phones`: a dry run shown then applied, the chosen entities only, exit codes,
a portal that stops answering and a bad configuration (the command as the CLI registers it)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import typer
from support import MEMBER_ID
from support.crm_phones import assert_normalized, assert_untouched, seed
from typer.testing import CliRunner, Result

from sandbox.bitrix24.portal import PortalEmulator
from smsbridge.cli.normalize import normalize
from smsbridge.config import Settings


def run_cli(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, settings: Settings, *args: str
) -> Result:
    """The command as the CLI registers it, with the configuration from the environment."""
    monkeypatch.chdir(tmp_path)  # away from the project's .env
    root = logging.getLogger()  # the command sets up logging on the runner's stderr: undo it after
    monkeypatch.setattr(root, "handlers", root.handlers[:])
    for logger in (root, logging.getLogger("httpx")):
        monkeypatch.setattr(logger, "level", logger.level)
    secret = settings.bitrix24_client_secret
    env = {
        "DATABASE_URL": settings.database_url,
        "BITRIX24_CLIENT_ID": settings.bitrix24_client_id or "",
        "BITRIX24_CLIENT_SECRET": secret.get_secret_value() if secret else "",
        "BITRIX24_OAUTH_URL": str(settings.bitrix24_oauth_url),
    }
    app = typer.Typer()
    app.command()(normalize)
    return CliRunner().invoke(app, list(args), env=env)


def test_the_cli_shows_a_dry_run_then_applies_it(
    installed_settings: Settings,
    bitrix24: PortalEmulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    crm = seed(bitrix24, contacts=30, leads=5)

    shown = run_cli(monkeypatch, tmp_path, installed_settings)

    assert shown.exit_code == 0, shown.output
    assert f"{crm.changes} would change" in shown.stdout
    assert "nothing written" in shown.stdout
    assert "не звонить" in shown.stdout and "[/b] нет" in shown.stdout  # unparseable, listed
    for entity, items in crm.items.items():
        for item_id in items:
            assert_untouched(crm, entity, item_id)

    applied = run_cli(monkeypatch, tmp_path, installed_settings, MEMBER_ID, "--apply")

    assert applied.exit_code == 0, applied.output
    for entity, items in crm.items.items():
        for item_id in items:
            assert_normalized(crm, entity, item_id)


def test_the_cli_applies_to_the_chosen_entities_only(
    installed_settings: Settings,
    bitrix24: PortalEmulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    crm = seed(bitrix24, contacts=5, leads=5)

    result = run_cli(monkeypatch, tmp_path, installed_settings, "--apply", "--entity", "lead")

    assert result.exit_code == 0, result.output
    for item_id in crm.items["lead"]:
        assert_normalized(crm, "lead", item_id)
    for item_id in crm.items["contact"]:
        assert_untouched(crm, "contact", item_id)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--region", "Russia"], 2, "unknown region"),
        (["--entity", "deal"], 2, "--entity must be one of"),
        (["0000"], 1, "no portal 0000 is stored"),
    ],
)
def test_the_cli_exit_codes(
    installed_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    args: list[str],
    code: int,
    message: str,
) -> None:
    result = run_cli(monkeypatch, tmp_path, installed_settings, *args)
    assert result.exit_code == code, result.output
    assert message in " ".join(result.stderr.split())


def test_the_cli_fails_when_a_portal_stops_answering(
    installed_settings: Settings,
    bitrix24: PortalEmulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    seed(bitrix24, contacts=3)
    bitrix24.fail_next(1, 503, "OVERLOAD_LIMIT")
    result = run_cli(monkeypatch, tmp_path, installed_settings, "--apply")
    assert result.exit_code == 1, result.output
    said = " ".join(result.stderr.split())
    assert "OVERLOAD_LIMIT" in said and "the next run resumes there" in said


def test_the_cli_refuses_a_bad_configuration(
    installed_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bad = installed_settings.model_copy(update={"database_url": "mysql://nowhere/db"})
    result = run_cli(monkeypatch, tmp_path, bad)
    assert result.exit_code == 2
    assert "DATABASE_URL" in " ".join(result.stderr.split())
