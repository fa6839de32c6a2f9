"""The addresses we give Bitrix24 and SMS.ru: the paths the webhook serves, and the full URLs
registered with them under PUBLIC_URL. One place, so the routes and the registrations agree."""

from __future__ import annotations

from smsbridge.config import Settings
from smsbridge.secret import handler_secret

UNINSTALL_PATH = "/bitrix24/uninstall"  # bound to ONAPPUNINSTALL
UPDATE_PATH = "/bitrix24/update"  # bound to ONAPPUPDATE
INSTALL_PATH = "/bitrix24/install"  # the install event; the UI installer binds ONAPPINSTALL here


def handler_path(member_id: str, secret: str) -> str:
    """Where Bitrix24 POSTs a portal's messages (the provider's HANDLER)."""
    return f"/bitrix24/handler/{member_id}/{secret}"


def portal_handler_path(member_id: str, master: str) -> str:
    """The HANDLER path of `member_id`, with its own secret derived from the master secret."""
    return handler_path(member_id, handler_secret(master, member_id))


def callback_path(secret: str) -> str:
    """Where SMS.ru POSTs status changes (registered with /callback/add)."""
    return f"/smsru/callback/{secret}"


def handler_url(settings: Settings, member_id: str, master: str) -> str:
    return settings.public_base + portal_handler_path(member_id, master)


def callback_url(settings: Settings, secret: str) -> str:
    return settings.public_base + callback_path(secret)


def event_urls(settings: Settings, *, install_event: bool = False) -> dict[str, str]:
    """The app events we bind with `event.bind`, and where Bitrix24 POSTs them. The UI installer
    also binds ONAPPINSTALL: a UI app gets the event (and its application_token) only so, after
    `BX24.installFinish()` (reference A4)."""
    urls = {
        "ONAPPUNINSTALL": settings.public_base + UNINSTALL_PATH,
        "ONAPPUPDATE": settings.public_base + UPDATE_PATH,
    }
    if install_event:
        urls["ONAPPINSTALL"] = settings.public_base + INSTALL_PATH
    return urls
