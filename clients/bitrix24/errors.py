"""Exceptions of the Bitrix24 client, one class per thing the caller does about them.

`QueryLimitExceeded`: slow down. `TokenExpired`: refresh (the client already tried). `AuthError`:
the tokens or the app's rights are wrong; retrying will not help. `Bitrix24Unavailable`: no usable
answer at all. Any other `Bitrix24Error` is the method's own refusal; its `code` says which.
`OAuthError` comes from the OAuth server, not the portal; `revoked` means the app must be
re-authorized on the portal. No exception text ever contains a token or the client secret: the
values are scrubbed out of every text the server or httpx gives us before it goes into one.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpx

from clients.transport import NOT_SENT

_MASK = "***"
# REST errors meaning the credentials, not the request, are wrong (docs: system errors; 401s).
_AUTH_CODES = frozenset(
    {
        "NO_AUTH_FOUND",
        "INVALID_CREDENTIALS",
        "insufficient_scope",
        "user_access_error",
    }
)
# The access token is no good, but a refresh may give a good one (a revoked app then answers the
# refresh with invalid_grant, which is how we learn of it).
_REFRESHABLE = frozenset({"expired_token", "invalid_token"})
# OAuth server errors after which the stored refresh token will never work again.
_REVOKED = frozenset({"invalid_grant", "invalid_client", "PAYMENT_REQUIRED"})


class Bitrix24Error(Exception):
    """An error answer from Bitrix24: `code` as given (it may be ""), HTTP `status` if known.

    `args` are the constructor's arguments, so the exception pickles (Prefect stores failures).
    """

    def __init__(self, code: str, description: str, status: int | None = None) -> None:
        super().__init__(code, description, status)
        self.code = code
        self.description = description
        self.status = status

    def __str__(self) -> str:
        return f"{self.code}: {self.description}"


class QueryLimitExceeded(Bitrix24Error):
    """503 QUERY_LIMIT_EXCEEDED: the portal's request bucket is full."""


class TokenExpired(Bitrix24Error):
    """401 expired_token, still so after refreshing the tokens."""


class AuthError(Bitrix24Error):
    """Any other 401, or a 403 about the credentials (NO_AUTH_FOUND, INVALID_CREDENTIALS, …)."""


class Bitrix24Unavailable(Bitrix24Error):
    """No usable answer: a transport failure, or an HTTP status without a Bitrix24 JSON body.

    `maybe_processed` is False only when the request certainly had no effect (it never reached
    the server, or a front proxy refused it with a 5xx); True when it may have been processed.
    """

    def __init__(self, reason: str, maybe_processed: bool, status: int | None = None) -> None:
        super().__init__("UNAVAILABLE", reason, status)
        self.args = (reason, maybe_processed, status)
        self.reason = reason
        self.maybe_processed = maybe_processed


class OAuthError(Exception):
    """The OAuth server refused a token request (`{"error", "error_description"}`)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(error, description)
        self.error = error
        self.description = description

    def __str__(self) -> str:
        return f"{self.error}: {self.description}"

    @property
    def revoked(self) -> bool:
        """The refresh token is used up or expired, the app is gone, or its subscription is."""
        return self.error in _REVOKED


def api_error(code: str, description: str, status: int | None = None) -> Bitrix24Error:
    """The exception for an error body; decided by its code first, since statuses vary."""
    if code == "QUERY_LIMIT_EXCEEDED":
        return QueryLimitExceeded(code, description, status)
    if code in _REFRESHABLE:
        return TokenExpired(code, description, status)
    if code in _AUTH_CODES or status == 401:
        return AuthError(code, description, status)
    return Bitrix24Error(code, description, status)


def transport_failure(
    where: str, exc: httpx.RequestError, secrets: Iterable[str]
) -> Bitrix24Unavailable:
    """A `Bitrix24Unavailable` for an httpx failure; raise it `from None`, as the httpx error
    carries the request (and its body, with the secrets) along."""
    detail = scrub(str(exc), secrets)
    reason = f"{where}: {type(exc).__name__}" + (f": {detail}" if detail else "")
    return Bitrix24Unavailable(reason, maybe_processed=not isinstance(exc, NOT_SENT))


def scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, _MASK)
    return text
