"""`check-template` run for real, through Prefect, on the sandbox seed's deals: the payment
template's figures as the flow returns them, and its artifacts. The check itself is tested in
tests/smsbridge/templates/test_check.py."""

from __future__ import annotations

import pytest
from support.broadcasts import sent_nothing
from support.flow_runs import run_for_real

from flows.check_template import (
    COSTLY_KEY,
    PLACEHOLDERS_KEY,
    PROGRESS_KEY,
    RENDERINGS_KEY,
    SUMMARY_KEY,
    check_template_flow,
)
from sandbox.bitrix24.portal import PortalEmulator
from sandbox.bitrix24.seed import DEALS, seed_crm
from sandbox.smsru import SmsRuEmulator
from smsbridge.config import Settings

PAYMENT = (
    "#CONTACT_NAME#, счёт по заказу «#DEAL_TITLE#» на #DEAL_OPPORTUNITY# ₽: #DEAL_UF_PAYMENT_LINK#"
)


@pytest.mark.usefixtures("prefect_harness")
def test_the_payment_template_on_the_seeded_deals(
    installed_settings: Settings, bitrix24: PortalEmulator, smsru: SmsRuEmulator
) -> None:
    seed_crm(bitrix24)

    summary, artifacts = run_for_real(
        check_template_flow,
        text=PAYMENT,
        member_id=bitrix24.member_id,
        entity="deal",
        settings=installed_settings,
    )

    assert summary["items"] == DEALS
    assert summary["encodings"] == {"ucs2": DEALS}
    assert summary["unknown"] == {}
    # New deals have no invoice yet (one in three); one deal in ten has no contact.
    assert summary["empty"] == {"#DEAL_UF_PAYMENT_LINK#": 10, "#CONTACT_NAME#": 3}
    # Titles of 6 to 64 characters: the same robot text goes as one, two or three SMS.
    assert summary["segments"] == {"1": 5, "2": 20, "3": 5}
    assert summary["length"] == {"min": 62, "median": 97, "p90": 153, "max": 154}
    assert summary["crossing"] == 25
    assert summary["to_one_fewer"] == {"2": 49, "3": 20}
    # 3.49 ₽ an SMS at the SMS.ru emulator: 5 × 3.49 + 20 × 6.98 + 5 × 10.47
    assert (summary["sample_cost"], summary["per_thousand"]) == ("209.40", "6980.00")
    assert summary["requests"] == 3  # the fields, one page of deals, their contacts
    assert set(artifacts) == {
        SUMMARY_KEY,
        PLACEHOLDERS_KEY,
        COSTLY_KEY,
        RENDERINGS_KEY,
        PROGRESS_KEY,
    }
    markdown = artifacts[SUMMARY_KEY].data
    assert f"| items checked | {DEALS} deals, newest first |" in markdown
    assert sent_nothing(smsru)
