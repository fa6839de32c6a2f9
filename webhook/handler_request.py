"""What Bitrix24 POSTs to our HANDLER for each message, checked field by field.

Fields per `shared/reference/bitrix24-api.md` §2: `message_id`, `message_to`, `message_body`,
`code`, `type`, `module_id`, `bindings[i][…]` (crm), `workflow_id` / `document_id[…]` /
`document_type[…]` (bizproc), `properties[…]` (duplicates kept for compatibility), `ts`, and an
`auth[…]` block only when the message has an author.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from models import Message
from models.types import max_length
from webhook.forms import Form, FormError, as_list

# What the messages table holds: a longer value is refused with a reason (a workflow_id, only
# Bitrix24's bookkeeping, is cut to fit instead).
MAX_MESSAGE_ID = max_length(Message.message_id)
MAX_CODE = max_length(Message.provider_code)
MAX_PHONE = max_length(Message.recipient_raw)
MAX_MODULE = max_length(Message.module_id)
MAX_USER_ID = max_length(Message.author_id)
MAX_WORKFLOW_ID = max_length(Message.workflow_id)
# Bounds of the request itself (the text column has none; the auth values are only compared).
MAX_TEXT = 5000
MAX_AUTH_VALUE = 500
_MESSAGE_ID = re.compile(rf"^[A-Za-z0-9._-]{{1,{MAX_MESSAGE_ID}}}$")
_CODE = re.compile(rf"^[A-Za-z0-9.\-_]{{1,{MAX_CODE}}}$")


class RequestError(ValueError):
    """The request is malformed; the text is the reason the 400 gives."""


@dataclass(frozen=True, slots=True)
class HandlerRequest:
    message_id: str
    code: str
    phone: str
    text: str
    module_id: str | None
    bindings: list[dict[str, str]] | None
    workflow_id: str | None
    document_id: list[str] | None
    document_type: list[str] | None
    auth: dict[str, str] | None

    @classmethod
    def from_form(cls, form: Form) -> HandlerRequest:
        properties = form.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        message_id = _scalar(form, "message_id", required=True)
        if not _MESSAGE_ID.match(message_id):
            raise RequestError(
                f"message_id must be 1–{MAX_MESSAGE_ID} letters, digits, '.', '_' or '-'"
            )
        code = _scalar(form, "code", required=True)
        if not _CODE.match(code):
            raise RequestError("code is not a valid provider CODE")
        message_type = _scalar(form, "type")
        if message_type and message_type.upper() != "SMS":
            raise RequestError(f"type {message_type[:20]!r} is not SMS")
        phone = _scalar(form, "message_to") or _scalar(properties, "phone_number")
        if len(phone) > MAX_PHONE:
            raise RequestError(f"message_to is longer than {MAX_PHONE} characters")
        text = _scalar(form, "message_body") or _scalar(properties, "message_text")
        if len(text) > MAX_TEXT:
            raise RequestError(f"message_body is longer than {MAX_TEXT} characters")
        return cls(
            message_id=message_id,
            code=code,
            phone=phone,
            text=text,
            module_id=_bounded(_scalar(form, "module_id"), "module_id", MAX_MODULE) or None,
            bindings=_bindings(form.get("bindings")),
            workflow_id=_scalar(form, "workflow_id")[:MAX_WORKFLOW_ID] or None,
            document_id=_strings(form.get("document_id"), "document_id"),
            document_type=_strings(form.get("document_type"), "document_type"),
            auth=_auth(form.get("auth")),
        )


def _scalar(form: dict[str, Any], name: str, *, required: bool = False) -> str:
    value = form.get(name)
    if value is None or value == "":
        if required:
            raise RequestError(f"{name} is missing")
        return ""
    if not isinstance(value, str):
        raise RequestError(f"{name} must be a single value")
    return value.strip()


def _strings(group: object, name: str) -> list[str] | None:
    if group is None:
        return None
    try:
        values = as_list(group)
    except FormError as exc:
        raise RequestError(f"{name}: {exc}") from None
    if not all(isinstance(value, str) for value in values):
        raise RequestError(f"{name} must be a list of values")
    return values


def _bindings(group: object) -> list[dict[str, str]] | None:
    if group is None:
        return None
    try:
        items = as_list(group)
    except FormError as exc:
        raise RequestError(f"bindings: {exc}") from None
    bindings = []
    for item in items:
        if not isinstance(item, dict) or not all(isinstance(v, str) for v in item.values()):
            raise RequestError("bindings must be a list of {OWNER_TYPE_ID, OWNER_ID}")
        bindings.append(dict(item))
    return bindings


def _auth(group: object) -> dict[str, str] | None:
    if group is None or group == "":
        return None
    if not isinstance(group, dict) or not all(isinstance(v, str) for v in group.values()):
        raise RequestError("auth must be a group of values")
    for key, value in group.items():
        _bounded(value, f"auth[{key}]", MAX_USER_ID if key == "user_id" else MAX_AUTH_VALUE)
    return dict(group)


def _bounded(value: str, name: str, limit: int) -> str:
    if len(value) > limit:
        raise RequestError(f"{name} is longer than {limit} characters")
    return value
