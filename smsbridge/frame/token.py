"""The page's own short-lived pass: what lets a form posted inside the frame be believed.

Bitrix24 posts AUTH_ID only when it opens the page; the forms the page posts later carry this
token instead of a cookie (third-party cookies are blocked in frames, reference A3). It says who
was vouched for (portal, user, admin or not) and until when, signed with HMAC-SHA256 under a key
derived from the master secret, so it cannot be made or altered without that secret and names
no secret itself. Format: `v1.<member_id>.<user_id>.<a|u>.<expires>.<signature>`, the signature
(URL-safe base64) over everything before it.
"""

from __future__ import annotations

import base64
import hmac
import time
from dataclasses import dataclass

from smsbridge.secret import compare_secret

VERSION = "v1"
LIFETIME = 3600  # seconds: as long as the AUTH_ID that was checked (AUTH_EXPIRES)
MAX_LENGTH = 200


class TokenRefused(Exception):
    """The token is missing, malformed, forged or expired; the text says which (no secret)."""


@dataclass(frozen=True, slots=True)
class FrameUser:
    member_id: str
    user_id: int
    admin: bool
    expires: int  # unix time


def issue(
    master: str, member_id: str, user_id: int, admin: bool, *, now: float | None = None
) -> str:
    expires = int(now if now is not None else time.time()) + LIFETIME
    body = f"{VERSION}.{member_id}.{user_id}.{'a' if admin else 'u'}.{expires}"
    return f"{body}.{_signature(master, body)}"


def check(master: str, token: str, *, now: float | None = None) -> FrameUser:
    """The user the token vouches for; `TokenRefused` unless it is ours, intact and unexpired."""
    if not token or len(token) > MAX_LENGTH:
        raise TokenRefused("the page's token is missing: open the app again from Bitrix24")
    body, _, signature = token.rpartition(".")
    if not compare_secret(signature, _signature(master, body)):
        raise TokenRefused("the page's token is not valid: open the app again from Bitrix24")
    _version, rest = body.split(".", 1)  # signed by us: well formed (a member_id may hold dots)
    member_id, user_id, role, expires = rest.rsplit(".", 3)
    if int(expires) <= (now if now is not None else time.time()):
        raise TokenRefused("the page has expired: open the app again from Bitrix24")
    return FrameUser(member_id, int(user_id), role == "a", int(expires))


def _signature(master: str, body: str) -> str:
    key = hmac.new(master.encode(), b"bitrix24-app-page", "sha256").digest()
    digest = hmac.new(key, body.encode(), "sha256").digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
