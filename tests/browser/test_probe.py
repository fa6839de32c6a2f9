"""A test send from the app's frame goes out through the outbox and shows its status live until
`delivered`: the page polls it while the SMS.ru emulator's callback comes in."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page
from support import SMSRU_KEY
from support.browser import Sandbox, screenshot, submit

PHONE = "+79255070602"


def test_a_test_send_shows_its_status_until_delivered(
    installed_sandbox: Sandbox, page: Page, screenshots: Path
) -> None:
    frame = installed_sandbox.open(page)
    frame.locator("[data-test=probe-phone]").fill(PHONE)
    frame.locator("[data-test=probe-text]").fill("Проверка связи")
    submit(frame, "probe-send")
    status = frame.locator("[data-test=probe-status]")
    status.wait_for()
    frame.locator("[data-test=probe-status][data-final=yes]").wait_for()
    assert status.get_attribute("data-state") == "delivered"
    assert status.inner_text() == "доставлено"  # in the page's language
    sent = [(m.api_id, m.phone, m.text) for m in installed_sandbox.smsru.sent]
    assert sent == [(SMSRU_KEY, PHONE.removeprefix("+"), "Проверка связи")]
    screenshot(page, screenshots, "test-send", section="#probe")
