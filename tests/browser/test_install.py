"""A UI app's install in the browser (reference A4): the portal opens our installer in the frame,
it registers with the frame's tokens and calls `BX24.installFinish()`; the portal then counts the
app installed, POSTs ONAPPINSTALL to the handler our installer bound, and opens the app."""

from __future__ import annotations

from playwright.sync_api import Page
from support.browser import Sandbox, stored_portal


def test_the_installer_ends_with_install_finish(sandbox: Sandbox, page: Page) -> None:
    portal = sandbox.portal
    portal.installed = False  # the admin has added the app; nothing is registered yet
    employee = sandbox.open_portal(page, user=2)
    assert "не полностью установлено" in employee.locator("#portal-notice").inner_text()

    with page.expect_response(lambda r: "/bitrix24/app/install?" in r.url) as installer:
        page.goto(f"{portal.base_url}/?user=1")
    assert installer.value.status == 200
    # installFinish → the portal marks the app installed and reloads it: the app's own page.
    frame = page.frame_locator("#app-frame")
    frame.locator("[data-test=status]").wait_for()
    assert portal.installed
    assert "smsru" in portal.providers
    [(url, event)] = portal.event_posts
    assert (url, event["event"]) == (portal.event_bindings["ONAPPINSTALL"], "ONAPPINSTALL")
    assert stored_portal(sandbox).application_token == portal.application_token
    assert frame.locator("[data-test=settings]").get_attribute("data-admin") == "yes"
