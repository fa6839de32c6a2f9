"""A frame POST whose AUTH_ID the authorization server does not vouch for is refused, and the
frame shows the refusal in words and nothing of the portal."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from playwright.sync_api import Page, Route
from support import SMSRU_KEY
from support.browser import Sandbox


def forge_auth_id(route: Route) -> None:
    """What a forger's page would POST: the real form, with an AUTH_ID of its own making."""
    fields = dict(parse_qsl(route.request.post_data or ""))
    fields["AUTH_ID"] = "f" * 70
    route.continue_(post_data=urlencode(fields))


def test_a_forged_auth_id_is_refused_in_the_frame(installed_sandbox: Sandbox, page: Page) -> None:
    page.route("**/bitrix24/app?*", forge_auth_id)
    with page.expect_response(lambda r: "/bitrix24/app?" in r.url) as answer:
        frame = installed_sandbox.open(page)
    assert answer.value.status == 401
    error = frame.locator("[data-test=error]")
    assert "does not accept the access token" in error.inner_text()
    shown = frame.locator("body").inner_text()
    for secret in (installed_sandbox.portal.domain, "SMSBRIDGE", SMSRU_KEY[-4:]):
        assert secret not in shown
    assert frame.locator("[data-test=status], [data-test=settings], form").count() == 0
