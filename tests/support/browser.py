"""What the browser tests share besides fixtures: the sandbox they drive, and screenshots."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import FrameLocator, Page
from sqlmodel import Session, select

from models import Portal
from sandbox.bitrix24.portal import PortalEmulator
from sandbox.smsru import SmsRuEmulator
from support.webhook_handle import Webhook


@dataclass
class Sandbox:
    """What `make run` runs, in the test: the portal with its page, our webhook, SMS.ru."""

    portal: PortalEmulator
    webhook: Webhook
    smsru: SmsRuEmulator

    def open(self, page: Page, *, user: int = 1, lang: str = "ru") -> FrameLocator:
        """The portal's page as `user`; the app's frame once it shows the page or a refusal."""
        self.open_portal(page, user=user, lang=lang)
        frame = page.frame_locator("#app-frame")
        frame.locator("h1").first.wait_for()
        return frame

    def open_portal(self, page: Page, *, user: int = 1, lang: str = "ru") -> Page:
        """The portal's page as `user`, whatever it shows."""
        page.goto(f"{self.portal.base_url}/?user={user}&lang={lang}")
        return page


def screenshot(
    page: Page, folder: Path, name: str, *, section: str | None = None, full_page: bool = True
) -> Path:
    """`NAME.png`: the portal page with the app in its frame, grown to the app's height by
    `BX24.fitWindow` (`full_page=False`: the window's part); `section`: that part of the app."""
    page.wait_for_function("document.getElementById('app-frame').style.height !== ''")
    path = folder / f"{name}.png"
    if section is None:
        page.screenshot(path=str(path), full_page=full_page)
    else:
        page.frame_locator("#app-frame").locator(section).screenshot(path=str(path))
    return path


def stored_portal(sandbox: Sandbox) -> Portal:
    """The portal's row as the database has it now."""
    with Session(sandbox.webhook.engine) as session:
        portal = session.exec(select(Portal).where(Portal.member_id == sandbox.portal.member_id))
        return portal.one()


def submit(frame: FrameLocator, button: str) -> None:
    """Click the `data-test` button of a form in the frame, and wait for the page it brings (the
    old one is marked first, so that its notice is not mistaken for the new one's)."""
    frame.locator("body").evaluate("body => { body.dataset.stale = 'yes'; }")
    frame.locator(f"[data-test={button}]").click()
    frame.locator("body:not([data-stale]) h1").first.wait_for()
