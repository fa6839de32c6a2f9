"""Where a message comes from in Bitrix24, and so what kind of message it is."""

from __future__ import annotations

import re
from enum import StrEnum


class Kind(StrEnum):
    TRANSACTIONAL = "transactional"
    MARKETING = "marketing"


class Source(StrEnum):
    CARD = "card"  # module_id=crm: sent by a user from a CRM card
    ROBOT = "robot"  # module_id=bizproc: a robot or business process
    CAMPAIGN = "campaign"  # module_id=sender: a CRM-marketing mailing
    OTHER = "other"  # a module the documentation does not list
    TEST = "test"  # a test send from the app's page: no Bitrix24 message, so nothing is pushed


_SOURCES = {"crm": Source.CARD, "bizproc": Source.ROBOT, "sender": Source.CAMPAIGN}


def classify_origin(module_id: str | None) -> tuple[Kind, Source]:
    """Marketing is what the marketing module sends; everything else is transactional."""
    source = _SOURCES.get((module_id or "").strip().lower(), Source.OTHER)
    kind = Kind.MARKETING if source is Source.CAMPAIGN else Kind.TRANSACTIONAL
    return kind, source


_OWNER_TYPES = {"1": "lead", "2": "deal", "3": "contact", "4": "company"}
_DOCUMENT = re.compile(r"^(LEAD|DEAL|CONTACT|COMPANY)_([0-9]{1,10})$")
MAX_ENTITY_ID = 2**31 - 1  # Bitrix24's ids are 32-bit, and so is our column
# A robot's SMS about these marks them with UF_CRM_SMS_SENT, so scenarios can avoid repeats.
FLAGGED_ENTITIES = frozenset({"deal", "lead"})


def crm_entity(
    bindings: list[dict[str, str]] | None, document_id: list[str] | None
) -> tuple[str, int] | None:
    """The CRM item a message is about: a robot's document (`DEAL_7`), else the first binding."""
    if document_id and len(document_id) >= 3:
        match = _DOCUMENT.match(document_id[2])
        if match and int(match.group(2)) <= MAX_ENTITY_ID:
            return match.group(1).lower(), int(match.group(2))
    for binding in bindings or []:
        kind = _OWNER_TYPES.get(binding.get("OWNER_TYPE_ID", ""))
        owner = binding.get("OWNER_ID", "")
        if kind and owner.isascii() and owner.isdigit() and int(owner) <= MAX_ENTITY_ID:
            return kind, int(owner)
    return None
