"""Messages as Bitrix24's queue server POSTs them to a provider's HANDLER.

Field names, order and nesting follow the documentation's dumps (`shared/reference/recorded/
bitrix24/docs/docs_messageservice_handler_*.json`) and the server source (§2 of the reference):
module headers first, then `properties`, `type`, `code`, `message_id`, `message_to`,
`message_body`, `ts`, and `auth` only when the message has an author.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlencode

Module = Literal["crm", "bizproc", "sender"]
OWNER_TYPES = {"lead": 1, "deal": 2, "contact": 3, "company": 4}


def new_message_id() -> str:
    """32 hex characters, like Bitrix24's md5(internal id | uniqid())."""
    return hashlib.md5(uuid.uuid4().bytes).hexdigest()


@dataclass
class Author:
    """The `auth` block the portal mints for a message's author (no refresh_token in it)."""

    member_id: str
    application_token: str
    domain: str = "sandbox.bitrix24.ru"
    user_id: str = "1"
    access_token: str = field(default_factory=lambda: uuid.uuid4().hex)

    def fields(self) -> dict[str, str]:
        return {
            "auth[access_token]": self.access_token,
            "auth[expires]": str(int(time.time()) + 3600),
            "auth[expires_in]": "3600",
            "auth[scope]": "crm,messageservice",
            "auth[domain]": self.domain,
            "auth[server_endpoint]": "https://oauth.bitrix.info/rest/",
            "auth[status]": "L",
            "auth[client_endpoint]": f"https://{self.domain}/rest/",
            "auth[member_id]": self.member_id,
            "auth[user_id]": self.user_id,
            "auth[application_token]": self.application_token,
        }


def message_fields(
    module: Module,
    phone: str,
    text: str,
    *,
    message_id: str | None = None,
    code: str = "smsru",
    entity: tuple[str, int] = ("deal", 1),
    author: Author | None = None,
) -> dict[str, str]:
    """The form fields of one message; `entity` is the CRM item it is about (crm and bizproc)."""
    entity_type, entity_id = entity
    fields: dict[str, str] = {"module_id": module}
    if module == "crm":
        fields["bindings[0][OWNER_TYPE_ID]"] = str(OWNER_TYPES[entity_type])
        fields["bindings[0][OWNER_ID]"] = str(entity_id)
    elif module == "bizproc":
        document = f"CCrmDocument{entity_type.capitalize()}"
        fields["workflow_id"] = f"{uuid.uuid4().hex[:14]}.{int(time.time() * 1000) % 10**8:08d}"
        fields |= {
            "document_id[0]": "crm",
            "document_id[1]": document,
            "document_id[2]": f"{entity_type.upper()}_{entity_id}",
            "document_type[0]": "crm",
            "document_type[1]": document,
            "document_type[2]": entity_type.upper(),
        }
    fields |= {
        "properties[phone_number]": phone,
        "properties[message_text]": text,
        "type": "SMS",
        "code": code,
        "message_id": message_id or new_message_id(),
        "message_to": phone,
        "message_body": text,
        "ts": str(int(time.time())),
    }
    if author is not None:
        fields |= author.fields()
    return fields


def encode(fields: dict[str, str]) -> bytes:
    """The body as PHP's http_build_query writes it (brackets percent-encoded)."""
    return urlencode(fields).encode()


FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
