"""`smsbridge template check` as a user runs it, in its own process configured by the
environment, against the installed portal emulator seeded as `make run` seeds it: the figures
printed, and the exit codes (0, 1 when the check cannot be made, 2 for bad arguments)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support.broadcasts import sent_nothing
from support.fault_processes import contract, environment

from sandbox.bitrix24.portal import PortalEmulator
from sandbox.bitrix24.seed import seed_crm
from sandbox.smsru import SmsRuEmulator
from smsbridge.config import Settings

COMMAND = "from smsbridge.cli.app import app\napp()\n"
PAYMENT = (
    "#CONTACT_NAME#, счёт по заказу «#DEAL_TITLE#» на #DEAL_OPPORTUNITY# ₽: #DEAL_UF_PAYMENT_LINK#"
)


def smsbridge(
    settings: Settings, bitrix24: PortalEmulator, cwd: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", COMMAND, *args],
        cwd=cwd,
        env=environment(**contract(settings, bitrix24), COLUMNS="200"),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_payment_template_on_the_seeded_deals(
    installed_settings: Settings, bitrix24: PortalEmulator, smsru: SmsRuEmulator, tmp_path: Path
) -> None:
    seed_crm(bitrix24)
    arguments = ("--portal", bitrix24.member_id, "--entity", "deal")

    done = smsbridge(
        installed_settings, bitrix24, tmp_path, "template", "check", PAYMENT, *arguments
    )

    assert done.returncode == 0, done.stderr
    out = " ".join(done.stdout.replace("│", " ").split())
    assert "30 deals, newest first" in out
    assert "1 SMS: 5, 2 SMS: 20, 3 SMS: 5 (total 60)" in out
    assert "25 of 30 (83%)" in out
    assert "to fit 1 SMS instead of 2 49 characters fewer" in out
    assert "209.40 ₽" in out and "6,980.00 ₽ (priced for +79161234567)" in out
    assert "deal.UF_CRM_PAYMENT_LINK 10 of 30" in out
    assert sent_nothing(smsru)


@pytest.mark.parametrize(
    ("arguments", "code", "message"),
    [
        (("--entity", "company"), 2, "entity must be one of deal, lead, contact"),
        (("--entity", "deal", "--sample", "0"), 2, "the sample must be 1 to 5000 items"),
        (("--entity", "lead"), 1, "the check failed: the portal has no leads"),
    ],
)
def test_exit_codes(
    installed_settings: Settings,
    bitrix24: PortalEmulator,
    smsru: SmsRuEmulator,
    tmp_path: Path,
    arguments: tuple[str, ...],
    code: int,
    message: str,
) -> None:
    done = smsbridge(
        installed_settings,
        bitrix24,
        tmp_path,
        "template",
        "check",
        "#LEAD_TITLE#",
        "--portal",
        bitrix24.member_id,
        *arguments,
    )
    assert done.returncode == code, done.stdout + done.stderr
    assert message in " ".join(done.stderr.split())
