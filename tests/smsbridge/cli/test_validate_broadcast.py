"""`smsbridge validate-broadcast` as a user runs it, in its own process configured by the
environment: the figures printed and the lists written, and its exit codes. Nothing is sent."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support.broadcasts import TEXT, read_csv, sent_nothing
from support.fault_processes import contract, environment

from clients.smsru.codes import meaning
from sandbox.smsru import SmsRuEmulator
from smsbridge.config import Settings

COMMAND = (
    "import typer\n"
    "from smsbridge.cli.validate_broadcast import validate_broadcast\n"
    "app = typer.Typer()\n"
    "app.command()(validate_broadcast)\n"
    "app()\n"
)


def command(settings: Settings, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it: its own process, configured by the environment."""
    return subprocess.run(
        [sys.executable, "-c", COMMAND, *args],
        cwd=cwd,
        env=environment(**contract(settings), COLUMNS="200"),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_command_prints_the_figures_and_writes_the_lists(
    settings: Settings, smsru: SmsRuEmulator, tmp_path: Path
) -> None:
    (tmp_path / "people.csv").write_text("phone\n+79255070602\n+7 495 123-45-67\n")

    done = command(settings, tmp_path, TEXT, "--csv", "people.csv")

    assert done.returncode == 0, done.stderr
    assert "not a mobile number" in done.stdout and "3.49 ₽" in done.stdout
    [report] = (tmp_path / "reports").glob("validate-broadcast-*Z.csv")
    assert [row["phone"] for row in read_csv(report)] == ["+79255070602"]
    assert sent_nothing(smsru)


def test_the_command_exits_1_when_sms_ru_refuses(
    settings: Settings, smsru: SmsRuEmulator, tmp_path: Path
) -> None:
    (tmp_path / "people.csv").write_text("+79255070602\n")
    smsru.set_top_level_error(201)

    done = command(settings, tmp_path, TEXT, "--csv", "people.csv")

    assert done.returncode == 1
    assert "error 201" in done.stderr and meaning(201) in done.stderr


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--csv", "absent.csv"], "no such file"),
        (["--crm", "contact", "--filter", "{oops"], "--filter is not JSON"),
        (["--csv", "absent.csv", "--filter", "{}"], "give --crm too"),
    ],
)
def test_the_command_exits_2_on_bad_arguments(
    settings: Settings, smsru: SmsRuEmulator, tmp_path: Path, args: list[str], problem: str
) -> None:
    done = command(settings, tmp_path, TEXT, *args)

    assert done.returncode == 2
    assert problem in done.stderr
    assert smsru.requests == []
