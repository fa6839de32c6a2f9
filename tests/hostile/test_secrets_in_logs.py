"""No secret in any log line or error answer, over a whole working life of the service.

Install, messages, callbacks, pushes, an expired token and its refresh, forged requests, an
SMS.ru account error, a re-install whose registration fails and one that succeeds: all against
the emulators, while every log record of the process (ours, uvicorn's, httpx's, the emulators')
is captured at DEBUG and formatted the way `smsbridge.logs.configure` writes it, redaction
included. Then every secret any party holds is searched for in every line and in every error
body we answered.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlmodel import Session, select
from support import (
    APPLICATION_TOKEN,
    MEMBER_ID,
    SECRET,
    SMSRU_KEY,
    Webhook,
    signed_callback,
    wait_for,
)

from clients.smsru.callbacks import status_record
from models import Portal
from sandbox.bitrix24.messages import Author, encode, message_fields
from sandbox.bitrix24.portal import PortalEmulator
from sandbox.smsru import SmsRuEmulator
from smsbridge.endpoints import callback_path, handler_path
from smsbridge.logs import RedactingFilter


class Lines(logging.Handler):
    """Every record as the production handler writes it: redacted, then formatted."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.addFilter(RedactingFilter())
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    """All log output of the process from before the install on (uvicorn keeps its own)."""
    handler = Lines()
    root = logging.getLogger()
    loggers = [root, logging.getLogger("uvicorn")]
    level = root.level
    others = {other: other.level for other in root.handlers}  # they keep printing what they did
    for other in others:
        other.setLevel(max(other.level, level))
    root.setLevel(logging.DEBUG)
    for logger in loggers:
        logger.addHandler(handler)
    yield handler.lines
    for logger in loggers:
        logger.removeHandler(handler)
    root.setLevel(level)
    for other, other_level in others.items():
        other.setLevel(other_level)


@pytest.fixture
def minted(bitrix24: PortalEmulator, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every token response the emulated portal gives out: install, refreshes, authors."""
    responses: list[dict[str, Any]] = []
    issue = bitrix24._issue_locked

    def recording(user_id: int, *, with_refresh: bool) -> dict[str, Any]:
        response = issue(user_id, with_refresh=with_refresh)
        responses.append(response)
        return response

    monkeypatch.setattr(bitrix24, "_issue_locked", recording)
    return responses


def deliver(bitrix24: PortalEmulator, *messages: tuple[Any, ...]) -> None:
    """Send through the portal's queue server and wait until Bitrix24 shows them delivered."""
    ids = [bitrix24.send_message(*message) for message in messages]
    # Every logger at DEBUG (aiosqlite logs each operation) is slow beside another test process.
    wait_for(lambda: all(bitrix24.message_status(i) == "delivered" for i in ids), timeout=60)


def forged_requests(webhook: Webhook, bitrix24: PortalEmulator) -> list[httpx.Response]:
    message = message_fields("crm", "+79255070602", "hi")
    records = [status_record("000000-1", 103)]
    forged_install = {
        "event": "ONAPPINSTALL",
        "auth[member_id]": MEMBER_ID,
        "auth[access_token]": "forged-access-token",
        "auth[refresh_token]": "forged-refresh-token",
        "auth[application_token]": "forged-application-token",
        "auth[client_endpoint]": bitrix24.client_endpoint,
        "auth[server_endpoint]": f"{bitrix24.oauth_url}/rest/",
    }
    answers = [
        webhook.post_form(encode(message), handler_path(MEMBER_ID, "forged-secret")),
        webhook.post_form(
            encode(message_fields("crm", "+7925", "hi", author=Author(MEMBER_ID, "0" * 32)))
        ),
        webhook.http.post(callback_path(SECRET), data=signed_callback(records, "forged-key")),
        webhook.http.post(callback_path("forged-secret"), data=signed_callback(records)),
        webhook.post_form(urlencode(forged_install).encode(), "/bitrix24/install"),
    ]
    assert [answer.status_code for answer in answers] == [401, 403, 403, 401, 401]
    return answers


def test_no_secret_reaches_a_log_line_or_an_answer(
    log_lines: list[str],
    minted: list[dict[str, Any]],
    installed: Webhook,
    bitrix24: PortalEmulator,
    smsru: SmsRuEmulator,
) -> None:
    deliver(
        bitrix24,
        ("crm", "+79255070602", "Заказ принят"),
        ("bizproc", "+79161234567", "Заказ отправлен"),
    )
    bitrix24.expire_access_tokens()
    refreshes = bitrix24.refresh_calls
    deliver(bitrix24, ("crm", "+79031234567", "После истечения токена"))
    assert bitrix24.refresh_calls > refreshes, "the scenario did not refresh the tokens"

    answers = forged_requests(installed, bitrix24)

    smsru.set_top_level_error(200)
    held = bitrix24.send_message("bizproc", "+79035550101", "Акция", author_user_id=None)
    wait_for(lambda: _paused(installed), timeout=60)
    smsru.set_top_level_error(None)
    wait_for(lambda: bitrix24.message_status(held) == "delivered", timeout=60)
    # The pusher's own calls (the sent flag, the timeline) are done: the fault is the install's.
    wait_for(lambda: _pusher_idle(installed), timeout=60)

    bitrix24.fail_next(1, 403, "user_access_error")  # the app update's registration fails
    refused = bitrix24.install(installed.server.url + "/bitrix24/install")
    assert refused.status_code == 502, refused.text
    answers.append(refused)
    reinstall = bitrix24.install(installed.server.url + "/bitrix24/install")
    assert reinstall.status_code == 200, reinstall.text

    secrets = {
        "webhook secret": SECRET,
        "SMS.ru key": SMSRU_KEY,
        "client secret": bitrix24.client_secret,
        "application_token": APPLICATION_TOKEN,
    }
    for n, response in enumerate(minted):
        secrets[f"access token {n}"] = response["access_token"]
        if "refresh_token" in response:
            secrets[f"refresh token {n}"] = response["refresh_token"]
    assert len(minted) >= 7  # install, 3 authors, a refresh, 2 re-installs
    said = [f"log: {line}" for line in log_lines] + [f"answer: {a.text}" for a in answers]
    leaks = [(name, line) for line in said for name, value in secrets.items() if value in line]
    assert leaks == []
    # The capture saw the whole life, and masked what it had to.
    assert any("portal installed" in line for line in log_lines)
    assert any("portal paused" in line for line in log_lines)
    assert any("/bitrix24/handler/" in line and "***" in line for line in log_lines)


def _pusher_idle(webhook: Webhook) -> bool:
    return not any(
        m.push_pending or m.flag_pending or m.comment_pending for m in webhook.messages()
    )


def _paused(webhook: Webhook) -> bool:
    with Session(webhook.engine) as session:
        portal = session.exec(select(Portal).where(Portal.member_id == MEMBER_ID)).one()
        return portal.pause_reason is not None
