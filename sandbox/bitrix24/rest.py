"""What every emulated REST method shares: who calls, what it answers, and how it refuses.

Methods return an `Outcome` or raise `RestError` with the code, text and HTTP status the reference
gives; `app.py` wraps either in the envelope. Facts: `shared/reference/bitrix24-api.md`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta, timezone
from typing import Any, NamedTuple

Params = dict[str, Any]

MSK = timezone(timedelta(hours=3))  # a .ru portal's clock, as in the recorded `date_start` values

# System errors: HTTP status and text from docs_errors.json (QUERY_LIMIT_EXCEEDED's as observed).
SYSTEM_ERRORS: dict[str, tuple[int, str]] = {
    "QUERY_LIMIT_EXCEEDED": (503, "Too many requests"),
    "expired_token": (401, "The access token provided has expired"),
    "NO_AUTH_FOUND": (401, "Wrong authorization data"),
    "insufficient_scope": (
        403,
        "The request requires higher privileges than provided by the webhook token",
    ),
    "user_access_error": (403, "The user does not have access to the application"),
    "INVALID_CREDENTIALS": (403, "Invalid request credentials"),
    "OVERLOAD_LIMIT": (503, "REST API is blocked due to overload"),
    "INTERNAL_SERVER_ERROR": (500, "Internal server error"),
    "PORTAL_DELETED": (500, "Portal was deleted"),
    "ERROR_BATCH_METHOD_NOT_ALLOWED": (405, "Method is not allowed for batch usage"),
    "ERROR_BATCH_LENGTH_EXCEEDED": (400, "Max batch length exceeded"),
    # Not in the table: the rest module's own 404 for an unknown method.
    "ERROR_METHOD_NOT_FOUND": (404, "Method not found!"),
    # Not documented: the wording of the OAuth2 library the portal runs on.
    "invalid_token": (401, "The access token provided is invalid."),
}


class RestError(Exception):
    """A REST or OAuth refusal: the body's `error` and `error_description`, and the HTTP status."""

    def __init__(self, code: str, description: str, status: int = 400) -> None:
        super().__init__(f"{code or '(no code)'}: {description}")
        self.code = code
        self.description = description
        self.status = status

    @classmethod
    def system(cls, code: str) -> RestError:
        status, description = SYSTEM_ERRORS[code]
        return cls(code, description, status)

    @property
    def body(self) -> dict[str, str]:
        return {"error": self.code, "error_description": self.description}


def access_denied() -> RestError:
    return RestError("ACCESS_DENIED", "Access denied!", 403)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a method returns: `result`, plus `total`/`next` for list methods."""

    result: Any
    total: int | None = None
    next: int | None = None


class Caller(NamedTuple):
    """The user a request acts for (from its token), and whether the portal makes them admin."""

    user_id: int
    admin: bool


Method = Callable[[Caller, Params], Outcome]  # top-level keys arrive uppercased
