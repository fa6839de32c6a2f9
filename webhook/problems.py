"""Error answers: a status and a reason a person can act on, as JSON."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

MAX_BODY = 64 * 1024


class Problem(Exception):
    """Raised inside an endpoint to answer `status` with `reason`."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def problem_response(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": reason}, status_code=status)


async def read_form_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The body of a form POST, refusing other content types and bodies over `limit`."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("application/x-www-form-urlencoded", ""):
        raise Problem(415, "expected application/x-www-form-urlencoded")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise Problem(413, f"body larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise Problem(413, f"body larger than {limit} bytes")
    return bytes(body)
