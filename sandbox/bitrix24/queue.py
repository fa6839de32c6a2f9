"""Bitrix24's queue server: the POSTs a portal makes to the app (install event, HANDLER messages).

Synchronous (httpx.Client), because tests and the sandbox drive it from their own threads. Like the
real one it posts once, never retries, and ignores the reply; the emulator only records it. It
needs only the few things of a portal that `Portal` names, so `portal.py` imports this module and
not the other way round.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from sandbox.bitrix24.messages import (
    FORM_CONTENT_TYPE,
    Author,
    Module,
    encode,
    message_fields,
    new_message_id,
)

TIMEOUT = 10.0
# The event's auth keys in the order of the recorded real event (event_oncrmcontactadd_*_raw),
# with refresh_token where the token response has it: ONAPPINSTALL is the one event that carries it.
_INSTALL_AUTH = (
    "access_token",
    "expires",
    "expires_in",
    "scope",
    "domain",
    "server_endpoint",
    "status",
    "client_endpoint",
    "member_id",
    "user_id",
    "refresh_token",
)


class Portal(Protocol):
    """What the queue server reads and writes of the portal it works for."""

    member_id: str
    domain: str
    application_token: str
    app_version: int
    oauth_url: str

    @property
    def client_endpoint(self) -> str: ...

    @property
    def providers(self) -> dict[str, dict[str, Any]]: ...

    def issue_tokens(self, user_id: int = 1) -> dict[str, Any]: ...

    def issue_access_token(self, user_id: int) -> dict[str, Any]: ...

    def register_message(self, message_id: str, *, code: str, author_id: int | None) -> None: ...

    def record_delivery(self, message_id: str, result: int | str) -> None: ...

    def note_event_post(self, url: str, fields: dict[str, str]) -> None: ...


@dataclass
class _PortalAuthor(Author):
    """`messages.Author` with this portal's endpoints and the token's own expiry."""

    endpoint: str = ""
    expires: int = 0

    def fields(self) -> dict[str, str]:
        return super().fields() | {
            "auth[expires]": str(self.expires),
            "auth[server_endpoint]": self.endpoint,
            "auth[client_endpoint]": self.endpoint,
        }


def install(portal: Portal, install_url: str, *, language_id: str = "ru") -> httpx.Response:
    """POST ONAPPINSTALL with a fresh token pair for the admin (user 1), as docs_onappinstall.json.

    The documented example lacks `auth[expires]` and `auth[user_id]`; real events carry both, so
    they are sent too. `auth[domain]` is the portal's domain, as in real events.
    """
    return app_event(portal, install_url, "ONAPPINSTALL", language_id=language_id)


def app_event(portal: Portal, url: str, event: str, *, language_id: str = "ru") -> httpx.Response:
    """ONAPPINSTALL or ONAPPUPDATE: both are sent with a fresh pair (`sendRefreshToken`, A4)."""
    tokens = portal.issue_tokens(user_id=1) | {"domain": portal.domain}
    fields = {
        "event": event,
        "data[VERSION]": str(portal.app_version),
        "data[ACTIVE]": "Y",
        "data[INSTALLED]": "Y",
        "data[LANGUAGE_ID]": language_id,
        "ts": str(int(time.time())),
        **{f"auth[{key}]": str(tokens[key]) for key in _INSTALL_AUTH},
        "auth[application_token]": portal.application_token,
    }
    portal.note_event_post(url, fields)
    return _post(url, fields)


def uninstall_event(
    portal: Portal, url: str, application_token: str, *, clean: bool, language_id: str = "ru"
) -> httpx.Response:
    """ONAPPUNINSTALL as documented (on-app-uninstall.md): `sendAuth=false`, so no tokens."""
    fields = {
        "event": "ONAPPUNINSTALL",
        "data[LANGUAGE_ID]": language_id,
        "data[CLEAN]": "1" if clean else "0",
        "ts": str(int(time.time())),
        "auth[domain]": portal.domain,
        "auth[server_endpoint]": f"{portal.oauth_url}/rest/",
        "auth[client_endpoint]": portal.client_endpoint,
        "auth[member_id]": portal.member_id,
        "auth[application_token]": application_token,
    }
    portal.note_event_post(url, fields)
    return _post(url, fields)


def send_message(
    portal: Portal,
    module: Module,
    phone: str,
    text: str,
    *,
    entity: tuple[str, int] = ("deal", 1),
    author_user_id: int | None = 1,
    code: str = "smsru",
) -> str:
    """Queue a message (status `sent`) and POST it to provider `code`'s HANDLER; its message_id.

    An author (user id > 0) gets a freshly minted access token in `auth[...]`, without a
    refresh_token; without one no auth block is sent (reference §2). The HANDLER's answer is
    recorded in `portal.handler_deliveries` and otherwise ignored.
    """
    provider = portal.providers.get(code)
    if provider is None:
        raise LookupError(f"no provider with CODE {code!r} is registered in the portal")
    message_id = new_message_id()
    to = normalize_phone(phone)
    author_id = author_user_id or None
    portal.register_message(message_id, code=code, author_id=author_id)
    author = None
    if author_id is not None:
        token = portal.issue_access_token(author_id)
        author = _PortalAuthor(
            member_id=portal.member_id,
            application_token=portal.application_token,
            domain=portal.domain,
            user_id=str(author_id),
            access_token=token["access_token"],
            endpoint=token["client_endpoint"],
            expires=token["expires"],
        )
    fields = message_fields(
        module, to, text, message_id=message_id, code=code, entity=entity, author=author
    )
    result: int | str
    try:
        result = _post(provider["handler"], fields).status_code
    except httpx.HTTPError as exc:
        result = type(exc).__name__
    portal.record_delivery(message_id, result)
    return message_id


def normalize_phone(phone: str) -> str:
    """`'+' . NormalizePhone(to)` when that succeeds (10+ digits), else the number as given."""
    digits = re.sub(r"\D", "", phone)
    return f"+{digits}" if len(digits) >= 10 else phone


def _post(url: str, fields: dict[str, str]) -> httpx.Response:
    with httpx.Client(timeout=TIMEOUT, trust_env=False) as http:
        return http.post(url, content=encode(fields), headers={"Content-Type": FORM_CONTENT_TYPE})
