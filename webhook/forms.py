"""Form bodies, the one place that decides what one is: content type, size, UTF-8, NUL, nesting.

Bitrix24 posts PHP-style forms (`auth[member_id]=…&bindings[0][OWNER_ID]=…`) the way PHP's
`http_build_query` writes; we read them the way `parse_str` would, but refuse what PHP would
silently mangle, so that a malformed request gets a 400 with a reason. SMS.ru posts flat ones.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from webhook.problems import Problem

MAX_BODY = 64 * 1024
MAX_FIELDS = 500
MAX_DEPTH = 4

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")


class FormError(ValueError):
    """The body is not a well-formed PHP-style form; the text says what is wrong."""


Form = dict[str, Any]


def parse_php_form(body: bytes) -> Form:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise FormError("body is not valid UTF-8") from None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        raise FormError("a percent-encoded value is not valid UTF-8") from None
    except ValueError:
        raise FormError(f"more than {MAX_FIELDS} fields") from None
    form: Form = {}
    for key, value in pairs:
        if "\x00" in key or "\x00" in value:
            raise FormError("a field contains a NUL character")
        _place(form, _path(key), value)
    return form


def _path(key: str) -> list[str]:
    match = _KEY.match(key)
    if not match:
        raise FormError(f"malformed field name {key[:60]!r}")
    path = [match.group(1), *_PART.findall(match.group(2))]
    if len(path) > MAX_DEPTH + 1:
        raise FormError(f"field {match.group(1)!r} is nested too deeply")
    return path


def _place(form: Form, path: list[str], value: str) -> None:
    node = form
    for depth, part in enumerate(path[:-1]):
        if part == "":
            part = str(len(node))
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise FormError(f"field {'/'.join(path[: depth + 1])!r} is both a value and a group")
        node = child
    last = path[-1] or str(len(node))
    if isinstance(node.get(last), dict):
        raise FormError(f"field {'/'.join(path)!r} is both a value and a group")
    node[last] = value


def as_list(group: object) -> list[Any]:
    """A group with keys 0..n (as PHP numbers them) as a list in numeric order."""
    if not isinstance(group, dict):
        raise FormError("expected a list of fields")
    try:
        return [group[key] for key in sorted(group, key=int)]
    except ValueError:
        raise FormError("expected numeric keys") from None


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


def parse_flat_form(body: bytes, max_fields: int) -> dict[str, str]:
    """A form of plain fields (SMS.ru's callback), last value winning as in PHP."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=max_fields)
    except (UnicodeDecodeError, ValueError):
        raise Problem(400, "not a form of data[N] records and a hash") from None
    if any("\x00" in key or "\x00" in value for key, value in pairs):
        raise Problem(400, "a field contains a NUL character")
    return dict(pairs)
