"""The README's walkthrough, end to end, as a new user runs it: `smsbridge run` (what `make run`
starts) in one process, then every `$ .venv/bin/smsbridge …` line of the README beside it, each
a real process with its exit code and output; then Ctrl-C. No traceback anywhere."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from sandbox.server import free_port
from smsbridge.config import without_contract

README = Path(__file__).resolve().parents[3] / "README.md"
SMSBRIDGE = str(Path(sys.executable).with_name("smsbridge"))
PROMPT = "$ .venv/bin/smsbridge "

# What each README command must print (besides exiting as the README says), by its first words.
EXPECTED = {
    "sandbox send +79255070602": [
        r"Bitrix24 shows it as sent",
        r"\d+\.\d s  portal shows delivered",
    ],
    "sandbox send +74951234567": [
        r"portal shows failed",
        r"not delivered: SMS\.ru code 207: На этот номер нет маршрута",
    ],
    "sandbox campaign": [r"campaign: \d+ delivered, \d+ undelivered, \d+ failed"],
    "report": [r"Messages\s+│ 22 ", r"Failed\s+│ 1 ", r"HTML report: reports/daily-report-"],
    "normalize": [r"60 items, 90 phones: .* would change, 13 not phone numbers"],
    "validate-broadcast": [r"Broadcast validation \(nothing was sent\)", r"valid\s+│ 41"],
    "template check": [r"\d+ deals, newest first", r"per 1,000 sends\s+│ [\d,]+\.\d\d ₽"],
    "flow run check-template": [r"\d+ deals: \d+ SMS", "check-template: Completed"],
    "flow run daily-report": [r"22 messages, \d+ delivered, 1 failed", "daily-report: Completed"],
    "flow run validate-broadcast": [r"41 valid, 18 invalid", "validate-broadcast: Completed"],
    "flow run normalize-phones": ["normalize-phones: Completed"],
}


def readme_commands() -> list[tuple[list[str], int]]:
    """Every smsbridge command line of the README, with the exit code it says (`# exit 1`)."""
    commands = []
    for line in README.read_text().splitlines():
        if line.startswith(PROMPT):
            command, _, comment = line[len(PROMPT) :].partition("  #")
            code = int(m.group(1)) if (m := re.search(r"exit (\d)", comment)) else 0
            commands.append((shlex.split(command), code))
    return commands


def environment() -> dict[str, str]:
    """A user's shell: no smsbridge or Prefect settings; the served deployments look for due
    runs every second instead of every 10 (only the waiting is shorter)."""
    env = without_contract(os.environ)
    env = {key: value for key, value in env.items() if not key.startswith("PREFECT_")}
    return env | {"PREFECT_RUNNER_POLL_FREQUENCY": "1"}


def smsbridge(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SMSBRIDGE, *args], cwd=cwd, env=environment(), capture_output=True, text=True, timeout=150
    )


def wait_for(check: object, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what} within {timeout} s\n{log.read_text()}"
        time.sleep(0.5)


def portal_installed(url: str) -> bool:
    try:
        return "smsru" in httpx.get(url, timeout=2).json()["sms_providers"]
    except (httpx.HTTPError, ValueError, KeyError):
        return False


@pytest.mark.slow
@pytest.mark.timeout(600)  # a loaded 2-core machine: Prefect alone can take minutes to start
def test_the_readme_walkthrough(tmp_path: Path) -> None:
    commands = readme_commands()
    covered = {key for key in EXPECTED for args, _ in commands if " ".join(args).startswith(key)}
    assert covered == set(EXPECTED), "the README and this test disagree on the walkthrough"
    webhook, prefect, smsru, portal = (free_port() for _ in range(4))
    log = tmp_path / "run.log"
    ports = ["--port", str(webhook), "--prefect-port", str(prefect)]
    ports += ["--smsru-port", str(smsru), "--portal-port", str(portal)]
    with log.open("w") as out:
        stack = subprocess.Popen(
            [SMSBRIDGE, "run", *ports], cwd=tmp_path, env=environment(), stdout=out, stderr=out
        )
    try:
        wait_for(
            lambda: portal_installed(f"http://127.0.0.1:{portal}/_sandbox/"), 60, "no install", log
        )
        for args, code in commands:
            if args[:2] == ["flow", "run"]:
                continue  # once Prefect is up, below
            check(smsbridge(args, tmp_path), args, code)

        second = smsbridge(["run", *ports], tmp_path)
        assert second.returncode == 1
        assert f"smsbridge is already running in {tmp_path} (pid {stack.pid}" in second.stderr
        assert "Traceback" not in second.stderr
        assert (tmp_path / ".sandbox.env").exists()  # the first one's, left alone

        wait_for(lambda: "smsbridge is up" in log.read_text(), 420, "no banner", log)
        for args, code in commands:
            if args[:2] == ["flow", "run"]:
                check(smsbridge(args, tmp_path), args, code)
    finally:
        stack.send_signal(signal.SIGINT)  # Ctrl-C
        stack.wait(timeout=60)
    output = log.read_text()
    assert stack.returncode == 0, output
    assert output.rstrip().endswith("smsbridge stopped"), output[-2000:]
    assert "Traceback" not in output, output
    assert "alembic" not in output
    assert not (tmp_path / ".sandbox.env").exists()


def check(result: subprocess.CompletedProcess[str], args: list[str], code: int) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == code, f"{args}: exit {result.returncode}\n{output}"
    assert "Traceback" not in output, output
    key = max((k for k in EXPECTED if " ".join(args).startswith(k)), key=len, default=None)
    for pattern in EXPECTED.get(key or "", []):
        assert re.search(pattern, output), f"{args}: no {pattern!r} in\n{output}"
