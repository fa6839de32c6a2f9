"""The portal's messageservice: the providers an app registers and the messages queued for them.

REST methods `messageservice.sender.*` and `messageservice.message.status.update`, plus what the
queue server and tests need: queueing a message, recording its HANDLER delivery, reading its
status. Not thread-safe on its own: `PortalEmulator` calls it under its lock.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from sandbox.bitrix24.php_values import php_empty, strval
from sandbox.bitrix24.rest import Caller, Outcome, Params, RestError, access_denied

STATUSES = ("queued", "sent", "delivered", "undelivered", "failed")

_CODE = re.compile(r"^[a-z0-9.\-_]+$", re.IGNORECASE)


class HandlerDelivery(NamedTuple):
    message_id: str
    result: int | str  # the HANDLER's HTTP status, or the name of the transport error


@dataclass(slots=True)
class _Provider:
    handler: str
    name: Any  # a string, or {lang: string}
    description: Any


@dataclass(slots=True)
class _Message:
    code: str
    author_id: int | None
    status: str = "sent"  # the portal sets SENT when it queues the message (reference §2)


class MessageService:
    """`allow_local_handlers` is a switch: on, a HANDLER on loopback is accepted (the sandbox)."""

    def __init__(self) -> None:
        self.allow_local_handlers = True
        self._providers: dict[str, _Provider] = {}
        self._messages: dict[str, _Message] = {}
        self._history: dict[str, list[str]] = {}
        self._deliveries: list[HandlerDelivery] = []

    # --- what tests and the queue server see ------------------------------------------------------

    def providers(self) -> dict[str, dict[str, Any]]:
        return {
            code: {"handler": p.handler, "name": p.name, "description": p.description}
            for code, p in self._providers.items()
        }

    def remove_providers(self) -> None:
        """What an app update does to the app's providers (reference §1)."""
        self._providers.clear()

    def register_message(self, message_id: str, code: str, author_id: int | None) -> None:
        self._messages[message_id] = _Message(code, author_id)

    def record_delivery(self, message_id: str, result: int | str) -> None:
        self._deliveries.append(HandlerDelivery(message_id, result))

    def deliveries(self) -> list[HandlerDelivery]:
        return list(self._deliveries)

    def status_of(self, message_id: str) -> str | None:
        message = self._messages.get(message_id)
        return None if message is None else message.status

    def history(self) -> dict[str, list[str]]:
        return {key: list(values) for key, values in self._history.items()}

    # --- REST methods ---------------------------------------------------------------------------

    def sender_add(self, caller: Caller, params: Params) -> Outcome:
        _require_admin(caller)
        if not params:
            raise _sender_invalid("Empty data!")
        code = _valid_code(params.get("CODE"))
        handler = self._check_handler(params.get("HANDLER"))
        if php_empty(params.get("NAME")):
            raise _sender_invalid("Empty sender NAME!")
        kind = params.get("TYPE")
        if php_empty(kind):
            raise _sender_invalid("Empty sender message TYPE!")
        if kind != "SMS":
            raise _sender_invalid("Unknown sender message TYPE!")
        if code in self._providers:
            raise RestError("ERROR_SENDER_ALREADY_INSTALLED", "Sender already installed!")
        if len(code) > 128:  # the CODE column's width
            raise RestError("ERROR_SENDER_ADD_FAILURE", "Sender save error!")
        self._providers[code] = _Provider(handler, params["NAME"], params.get("DESCRIPTION"))
        return Outcome(True)

    def sender_update(self, caller: Caller, params: Params) -> Outcome:
        _require_admin(caller)
        code = strval(params.get("CODE"))
        if php_empty(code):
            raise RestError("ERROR_SENDER_CODE_REQUIRED", "Sender code is required")
        if not {"HANDLER", "NAME", "DESCRIPTION"} & params.keys():
            raise RestError(
                "ERROR_SENDER_OTHER_PARAMS_REQUIRED",
                "At least one of HANDLER, NAME, DESCRIPTION is required",
            )
        provider = self._providers.get(code)
        if provider is None:
            raise RestError("ERROR_SENDER_NOT_FOUND", "Sender not found")
        handler = self._check_handler(params["HANDLER"]) if "HANDLER" in params else None
        if "NAME" in params and php_empty(params["NAME"]):
            raise _sender_invalid("Empty sender NAME!")
        if handler is not None:
            provider.handler = handler
        if "NAME" in params:
            provider.name = params["NAME"]
        if "DESCRIPTION" in params:
            provider.description = params["DESCRIPTION"]
        return Outcome(True)

    def sender_delete(self, caller: Caller, params: Params) -> Outcome:
        _require_admin(caller)
        code = _valid_code(params.get("CODE"))
        if self._providers.pop(code, None) is None:
            raise RestError("ERROR_SENDER_NOT_FOUND", "Sender not found")
        return Outcome(True)

    def sender_list(self, caller: Caller, params: Params) -> Outcome:
        _require_admin(caller)
        return Outcome(list(self._providers))

    def status_update(self, caller: Caller, params: Params) -> Outcome:
        """Applied in arrival order, without monotonicity: a late `sent` beats `delivered`.

        The portal's SQL skips a same-status update, but the call still succeeds; the history
        records every accepted call so that tests see what a client reported and when. Only the
        message's author or an admin may update it.
        """
        code = _valid_code(params.get("CODE"))
        message_id = strval(params.get("MESSAGE_ID"))
        if php_empty(message_id):
            raise RestError("ERROR_MESSAGE_NOT_FOUND", "Message not found!")
        status = params.get("STATUS")
        if status not in STATUSES:
            raise RestError("ERROR_MESSAGE_STATUS_INCORRECT", "Message status incorrect!")
        message = self._messages.get(message_id)
        if message is None or message.code != code:
            raise RestError("ERROR_MESSAGE_NOT_FOUND", "Message not found!")
        if not caller.admin and caller.user_id != message.author_id:
            raise access_denied()
        message.status = status
        self._history.setdefault(message_id, []).append(status)
        return Outcome(True)

    def _check_handler(self, value: Any) -> str:
        """`HandlerHelper::checkCallback`: a host with a dot first, then http(s) (reference §1).

        With `allow_local_handlers` off, loopback and LAN addresses are refused too: the docs say
        the HANDLER must be publicly reachable (the source only checks for the dot). On, localhost
        and loopback addresses are accepted so that the sandbox works.
        """
        url = strval(value)
        try:
            parts = urlsplit(url)
            host = parts.hostname or ""
        except ValueError:
            raise RestError("ERROR_WRONG_HANDLER_URL", "Wrong handler URL") from None
        local = host == "localhost" or _is_ip(host, "is_loopback")
        if self.allow_local_handlers:
            reachable = local or "." in host
        else:
            reachable = "." in host and not local and not _is_ip(host, "is_private")
        if not reachable or len(url) > 1000:
            raise RestError("ERROR_WRONG_HANDLER_URL", "Wrong handler URL")
        if parts.scheme.lower() not in ("http", "https"):
            raise RestError("ERROR_UNSUPPORTED_PROTOCOL", "Unsupported handler protocol")
        return url


def _require_admin(caller: Caller) -> None:
    if not caller.admin:
        raise access_denied()


def _valid_code(value: Any) -> str:
    code = strval(value)
    if php_empty(code):
        raise _sender_invalid("Empty sender code!")
    if not _CODE.match(code):
        raise _sender_invalid("Wrong sender code!")
    return code


def _sender_invalid(description: str) -> RestError:
    return RestError("ERROR_SENDER_VALIDATION_FAILURE", description)


def _is_ip(host: str, quality: str) -> bool:
    try:
        return bool(getattr(ipaddress.ip_address(host), quality))
    except ValueError:
        return False
