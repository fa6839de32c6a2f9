"""`smsbridge report`: the seeded day (tests/report_support.py) reported from a terminal, and
bad input refused with an exit code and a reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
from report_support import MOSCOW, REFUSALS_TEXT, assert_self_contained, seed, seed_refusals
from sqlalchemy import Engine
from support import SMSRU_KEY
from typer.testing import CliRunner

from sandbox.smsru import SmsRuEmulator
from smsbridge.cli.report import report
from smsbridge.config import Settings

PAGE = "daily-report-2026-03-10.html"


def invoke(args: list[str], settings: Settings) -> Any:
    app = typer.Typer()
    app.command()(report)
    environment = {
        "DATABASE_URL": settings.database_url,
        "SMSRU_API_URL": settings.smsru_base,
        "SMSRU_API_ID": SMSRU_KEY,
        "COLUMNS": "250",  # a table row on one line
    }
    return CliRunner().invoke(app, args, env=environment)


def test_the_command_prints_the_headline_and_writes_the_page(
    engine: Engine,
    settings: Settings,
    smsru: SmsRuEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed(engine)
    monkeypatch.chdir(tmp_path)  # no .env of the project's

    result = invoke(["--day", "2026-03-10", "--reports-dir", "out"], settings)

    assert result.exit_code == 0, result.output
    page = tmp_path / "out" / PAGE
    assert_self_contained(page.read_text(encoding="utf-8"))
    lines = result.stdout.splitlines()
    assert any("SMS daily report — 2026-03-10" in line for line in lines)
    assert any("Messages" in line and " 17 " in line for line in lines)
    assert any("Delivered" in line and " 7 " in line for line in lines)
    assert f"HTML report: {Path('out') / PAGE}" in result.stdout


def test_a_portals_period(
    engine: Engine,
    settings: Settings,
    smsru: SmsRuEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed(engine)
    monkeypatch.chdir(tmp_path)

    args = ["--from", "2026-03-09", "--to", "2026-03-11", "--portal", MOSCOW]
    result = invoke([*args, "--reports-dir", "out"], settings)

    assert result.exit_code == 0, result.output
    page = (tmp_path / "out" / "report-2026-03-09-to-2026-03-11.html").read_text(encoding="utf-8")
    assert_self_contained(page)
    assert "<h2>By day</h2>" in page and "<td>2026-03-11</td>" in page
    lines = result.stdout.splitlines()
    assert any("SMS report — 2026-03-09 to 2026-03-11" in line for line in lines)
    assert any("Messages" in line and " 15 " in line for line in lines)  # 1 + 13 + 1
    assert any("Most expensive text" in line and "«текст»" in line for line in lines)


def test_the_headline_says_what_the_policy_refused_and_why(
    engine: Engine,
    settings: Settings,
    smsru: SmsRuEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed_refusals(engine)
    monkeypatch.chdir(tmp_path)

    result = invoke(["--day", "2026-03-10", "--reports-dir", "out"], settings)

    assert result.exit_code == 0, result.output
    [line] = [
        line for line in result.stdout.splitlines() if "Refused by the message policy" in line
    ]
    assert REFUSALS_TEXT in line


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["--day", "2026-13-01"], 2, "YYYY-MM-DD"),
        (["--day", "2026-03-10", "--member-id", "nobody"], 1, "no portal nobody is stored"),
        (["--from", "2026-03-10"], 2, "a period is reported for one portal: give --portal"),
        (["--to", "2026-03-10", "--portal", "p"], 2, "--to needs --from"),
        (["--from", "2026-3-10", "--portal", "p"], 2, "--from must be a day as YYYY-MM-DD"),
        (
            ["--from", "2026-03-10", "--to", "2026-03-09", "--portal", "p"],
            2,
            "the period ends on 2026-03-09 before it starts on 2026-03-10",
        ),
        (
            ["--from", "2026-01-01", "--to", "2026-06-30", "--portal", "p"],
            2,
            "at most 92 are reported at once",
        ),
        (["--from", "2026-03-10", "--portal", "nobody"], 1, "no portal nobody is stored"),
    ],
)
def test_the_command_refuses_bad_input(
    args: list[str],
    code: int,
    says: str,
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)

    result = invoke([*args, "--reports-dir", "out"], settings)

    assert result.exit_code == code
    assert says in result.stderr
    assert not (tmp_path / "out").exists()
