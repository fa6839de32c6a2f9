"""The app's event handlers in the portal: `event.bind`, `event.get`, `event.unbind`.

Binding needs an admin (reference A4). Binding the same handler twice is refused with the
vendor's wording ("Handler already binded"); an uninstall removes every binding.
"""

from __future__ import annotations

from sandbox.bitrix24.php_values import strval
from sandbox.bitrix24.rest import Caller, Outcome, Params, RestError, access_denied

# Events an app may bind that the emulator knows; the rest are refused as unknown.
EVENTS = frozenset({"ONAPPUNINSTALL", "ONAPPUPDATE", "ONAPPINSTALL"})


class EventBindings:
    def __init__(self) -> None:
        self._handlers: dict[str, str] = {}  # EVENT → handler URL

    def handler_for(self, event: str) -> str | None:
        return self._handlers.get(event.upper())

    def bound(self) -> dict[str, str]:
        return dict(self._handlers)

    def clear(self) -> None:
        self._handlers.clear()

    def bind(self, caller: Caller, params: Params) -> Outcome:
        if not caller.admin:
            raise access_denied()
        event, handler = self._event_and_handler(params)
        if self._handlers.get(event) == handler:
            raise RestError("ERROR_CORE", "Handler already binded")
        self._handlers[event] = handler
        return Outcome(True)

    def get(self, caller: Caller, params: Params) -> Outcome:
        rows = [
            {"event": event, "handler": handler, "auth_type": "0", "offline": 0}
            for event, handler in self._handlers.items()
        ]
        return Outcome(rows)

    def unbind(self, caller: Caller, params: Params) -> Outcome:
        if not caller.admin:
            raise access_denied()
        event, handler = self._event_and_handler(params)
        count = int(self._handlers.get(event) == handler)
        if count:
            del self._handlers[event]
        return Outcome({"count": count})

    @staticmethod
    def _event_and_handler(params: Params) -> tuple[str, str]:
        event = strval(params.get("EVENT", "")).upper()
        handler = strval(params.get("HANDLER", ""))
        if event not in EVENTS:
            raise RestError("ERROR_EVENT_NOT_FOUND", "Event not found")
        if not handler.startswith(("http://", "https://")):
            raise RestError("ERROR_HANDLER_URL", "Wrong handler URL")
        return event, handler
