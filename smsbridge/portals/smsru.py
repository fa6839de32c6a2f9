"""Which SMS.ru account a portal uses: its own key and sender name, else the service's.

`SMSRU_API_ID` and `SMSRU_SENDER` serve every portal that has none of its own (`smsbridge portal
add --smsru-api-id K --sender NAME` gives it one). SMS.ru signs a callback with the key the
message was sent with, so sending, polling, pricing, registering the callback and reading the
balance must all choose the same key: they all ask here.
"""

from __future__ import annotations

import httpx

from clients.smsru.client import SmsRuClient
from models import Portal
from smsbridge.config import Settings
from smsbridge.logs import register_secret

NO_KEY = "no SMS.ru key: set SMSRU_API_ID or the portal's own key"


class NoSmsRuKey(ValueError):
    """Neither the portal nor `SMSRU_API_ID` has an SMS.ru key: a configuration problem."""

    def __init__(self) -> None:
        super().__init__(NO_KEY)


def smsru_key(portal: Portal | None, settings: Settings) -> str | None:
    """The key SMS.ru is called with for `portal` (or for no portal in particular); None when
    neither the portal nor `SMSRU_API_ID` has one."""
    return (portal.smsru_api_id if portal is not None else None) or settings.smsru_key


def smsru_sender(portal: Portal | None, settings: Settings) -> str | None:
    """The sender name (`from`) for `portal`; None leaves it to the account's default."""
    return (portal.smsru_sender if portal is not None else None) or settings.smsru_sender


def smsru_test(portal: Portal | None, settings: Settings) -> bool:
    """Whether to send with `test=1` (nothing sent or charged): the portal's own choice, made on
    the app's page, else `SMSRU_TEST`."""
    own = portal.smsru_test if portal is not None else None
    return settings.smsru_test if own is None else own


def smsru_client(
    key: str, settings: Settings, http: httpx.AsyncClient, timeout: httpx.Timeout | None = None
) -> SmsRuClient:
    """A client of the account `key` at `SMSRU_API_URL`; the key is masked in logs from now on
    (a portal's own key is not among the configured secrets the runtime registers)."""
    register_secret(key)
    return SmsRuClient(key, base_url=settings.smsru_base, http=http, timeout=timeout)


def smsru_client_for(
    portal: Portal | None,
    settings: Settings,
    http: httpx.AsyncClient,
    timeout: httpx.Timeout | None = None,
) -> SmsRuClient:
    """A client of the account `portal` uses; `NoSmsRuKey` when it has none."""
    key = smsru_key(portal, settings)
    if key is None:
        raise NoSmsRuKey
    return smsru_client(key, settings, http, timeout)
