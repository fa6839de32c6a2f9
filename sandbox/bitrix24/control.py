"""The sandbox's own handle on the emulated portal: what a user does in Bitrix24's UI.

`smsbridge sandbox send` runs in another process than the emulator, so it acts through these
routes: send a message as a CRM card, a robot or a campaign would, and read its status. Only the
sandbox serves them; a real portal has nothing like it.
"""

from __future__ import annotations

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sandbox.bitrix24.portal import PortalEmulator

MODULES = ("crm", "bizproc", "sender")


def control_routes(portal: PortalEmulator) -> list[Route]:
    async def send(request: Request) -> JSONResponse:
        body = await request.json()
        module, phone, text = body.get("module", "crm"), body.get("phone"), body.get("text")
        if module not in MODULES or not isinstance(phone, str) or not isinstance(text, str):
            return JSONResponse({"error": f"need phone, text and module in {MODULES}"}, 400)
        entity = ("deal", portal.add_deal(f"Сделка для {phone}"))
        try:
            message_id = await anyio.to_thread.run_sync(
                lambda: portal.send_message(module, phone, text, entity=entity)  # type: ignore[arg-type]
            )
        except LookupError as exc:
            return JSONResponse({"error": str(exc)}, 409)
        delivery = portal.handler_deliveries[-1].result if portal.handler_deliveries else None
        return JSONResponse({"message_id": message_id, "handler_answer": delivery})

    async def status(request: Request) -> JSONResponse:
        message_id = request.path_params["message_id"]
        current = portal.message_status(message_id)
        if current is None:
            return JSONResponse({"error": "no such message"}, 404)
        history = portal.status_history.get(message_id, [])
        return JSONResponse({"message_id": message_id, "status": current, "pushed": history})

    async def overview(_request: Request) -> JSONResponse:
        """The portal, its provider, its latest messages (the portal's page is `frame.py`'s)."""
        history = portal.status_history
        latest = list(history)[-20:]
        return JSONResponse(
            {
                "portal": portal.domain,
                "member_id": portal.member_id,
                "sms_providers": {code: p["name"] for code, p in portal.providers.items()},
                "messages": {m: portal.message_status(m) for m in latest},
                "try": "POST /_sandbox/send {phone, text, module}; GET /_sandbox/messages/{id}",
            }
        )

    return [
        Route("/_sandbox/", overview, methods=["GET"]),
        Route("/_sandbox/send", send, methods=["POST"]),
        Route("/_sandbox/messages/{message_id}", status, methods=["GET"]),
    ]
