"""Error answers: a status and a reason a person can act on, as JSON."""

from __future__ import annotations

from starlette.responses import JSONResponse


class Problem(Exception):
    """Raised inside an endpoint to answer `status` with `reason`."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def problem_response(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": reason}, status_code=status)
