"""The admin changes the settings in the app's frame, and they are stored; an employee cannot.

Each change is a form posted inside the frame with the page's signed token (no cookie), which
the browser does exactly as a user would: select, type, click.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page
from support.browser import Sandbox, screenshot, stored_portal, submit

SENDER = "SMSBRIDGE"  # the tests' SMS.ru account's approved sender; the portal starts with none


def test_the_admin_changes_the_sender_and_the_policy(
    installed_sandbox: Sandbox, page: Page, screenshots: Path
) -> None:
    sandbox = installed_sandbox
    frame = sandbox.open(page)
    assert frame.locator("[data-test=settings]").get_attribute("data-admin") == "yes"

    frame.locator("[data-test=sender-select]").select_option(SENDER)
    submit(frame, "sender-save")
    frame.locator("[data-test=notice]").wait_for()
    assert frame.locator("[data-test=sender]").inner_text() == SENDER
    assert stored_portal(sandbox).smsru_sender == SENDER

    frame.locator("[data-test=policy-consent]").select_option("required")
    frame.locator("[data-test=policy-pace]").fill("120")
    frame.locator("[data-test=policy-ttl]").fill("30")
    frame.locator("[data-test=policy-duplicate]").fill("300")
    frame.locator("[data-test=policy-daytime]").uncheck()
    submit(frame, "policy-save")
    frame.locator("[data-test=notice]").wait_for()
    portal = stored_portal(sandbox)
    assert portal.marketing_consent == "required"
    assert (portal.marketing_pace, portal.transactional_ttl, portal.duplicate_window) == (
        120,
        30,
        300,
    )
    assert portal.marketing_daytime is False
    assert frame.locator("[data-test=policy-pace]").input_value() == "120"  # shown as stored

    frame.locator("[data-test=stop-phone]").fill("+7 925 507-06-02")
    frame.locator("[data-test=stop-reason]").fill("asked by phone")
    submit(frame, "stop-add")
    entry = frame.locator("[data-test=stop-entry][data-phone='+79255070602']")
    entry.wait_for()
    screenshot(page, screenshots, "settings", section="#settings")


def test_a_wrong_policy_value_is_refused_in_words_and_nothing_changes(
    installed_sandbox: Sandbox, page: Page
) -> None:
    frame = installed_sandbox.open(page)
    before = stored_portal(installed_sandbox)
    frame.locator("[data-test=policy-pace]").evaluate("input => input.removeAttribute('max')")
    frame.locator("[data-test=policy-pace]").fill("1000000")
    submit(frame, "policy-save")
    error = frame.locator("[data-test=error]")
    error.wait_for()
    assert "темп рекламной рассылки: целое число от 1 до 100000" in error.inner_text()  # Russian
    assert stored_portal(installed_sandbox).marketing_pace == before.marketing_pace


def test_an_employee_sees_the_settings_read_only_and_a_forced_change_is_refused(
    installed_sandbox: Sandbox, page: Page
) -> None:
    sandbox = installed_sandbox
    frame = sandbox.open(page, user=2)
    assert frame.locator("[data-test=settings]").get_attribute("data-admin") == "no"
    frame.locator("[data-test=read-only]").wait_for()
    assert frame.locator("[data-test=sender-save]").is_disabled()
    assert frame.locator("[data-test=probe-send]").is_disabled()

    # What a curious employee can do in the browser: enable the form and post it anyway.
    frame.locator("[data-test=settings] fieldset").evaluate("set => set.disabled = false")
    frame.locator("[data-test=sender-select]").select_option(SENDER)
    with page.expect_response(lambda r: r.url.endswith("/bitrix24/app/settings")) as answer:
        submit(frame, "sender-save")
    assert answer.value.status == 403
    error = frame.locator("[data-test=error]")
    error.wait_for()
    assert "администратор" in error.inner_text()
    assert stored_portal(sandbox).smsru_sender is None
