"""Real-browser tests: Debian's Chromium, driven by Playwright, opens the sandbox portal's page,
which POSTs the frame fields into an `<iframe>` the way Bitrix24 does; our webhook, the portal
and SMS.ru emulators are uvicorn servers on loopback, the database the suite's own.

Chromium comes from the distribution (`apt-get install chromium`, as `.ci/run` does), never from
`playwright install`. Without it these tests are skipped with that advice, unless
`REQUIRE_BROWSER=1` (CI): then they fail. Screenshots go to `SCREENSHOTS_DIR`, else to pytest's
temporary folder; the README's are copied from them by hand. Helpers: `support.browser`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from pydantic import SecretStr
from support import APPLICATION_TOKEN, SMSRU_KEY, Webhook
from support.browser import Sandbox

from sandbox.bitrix24.authserver import AuthorizationServer
from sandbox.bitrix24.frame import SHIM_PATH
from sandbox.bitrix24.portal import PortalEmulator
from sandbox.bitrix24.serve import portal_app, served_at
from sandbox.server import BackgroundServer
from sandbox.smsru import SmsRuEmulator
from webhook.page.routes import APP_PATH

CHROMIUM = Path("/usr/bin/chromium")
MISSING = "Chromium not installed: apt-get install chromium"
VIEWPORT = {"width": 1280, "height": 900}
WAIT_MS = 30_000  # the page's own requests on a loaded 2-core machine


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One Chromium for all the browser tests. Package-scoped (`__init__.py` makes this folder a
    package), not session-scoped: Playwright's sync API keeps an event loop marked running in
    this thread while it is started, which would break every later test that calls
    `asyncio.run`; it stops when the last browser test is done.
    """
    if not CHROMIUM.exists():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"{MISSING} (REQUIRE_BROWSER=1 asks for these tests)")
        pytest.skip(MISSING)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(WAIT_MS)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("SCREENSHOTS_DIR")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def portal_page() -> Iterator[PortalEmulator]:
    """The portal emulator as `make run` serves it: REST, OAuth, its page and BX24 stand-in."""
    portal, authorization = (
        PortalEmulator(application_token=APPLICATION_TOKEN),
        AuthorizationServer(),
    )
    with BackgroundServer(portal_app(portal, authorization, control=True)) as server:
        served_at(portal, authorization, server.url)
        yield portal


@pytest.fixture
def sandbox(
    start_webhook: Callable[..., Webhook], portal_page: PortalEmulator, smsru: SmsRuEmulator
) -> Sandbox:
    """Our webhook, configured as `make run` configures it for the sandbox; the portal knows
    the app's URLs but has not installed it (see `installed_sandbox`)."""
    webhook = start_webhook(
        bitrix24_client_id=portal_page.client_id,
        bitrix24_client_secret=SecretStr(portal_page.client_secret),
        bitrix24_oauth_url=portal_page.oauth_url,
        bitrix24_js_url=portal_page.base_url + SHIM_PATH,
        smsru_api_id=SecretStr(SMSRU_KEY),
    )
    portal_page.app_url = webhook.server.url + APP_PATH
    portal_page.installer_url = portal_page.app_url + "/install"
    return Sandbox(portal_page, webhook, smsru)


@pytest.fixture
def installed_sandbox(sandbox: Sandbox) -> Sandbox:
    """The sandbox with the app installed through the install event, as `make run` does."""
    answer = sandbox.portal.install(sandbox.webhook.server.url + "/bitrix24/install")
    assert answer.status_code == 200, answer.text
    return sandbox
