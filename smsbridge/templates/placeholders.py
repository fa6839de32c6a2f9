"""The CRM fields a robot's SMS text names, and the text rendered for one CRM item.

Two spellings reach us: `#DEAL_TITLE#` (entity, underscore, field: `#CONTACT_NAME#`,
`#DEAL_OPPORTUNITY#`, `#DEAL_UF_PAYMENT_LINK#`) and the robot designer's `{=Document:TITLE}`, a
field of the item the robot runs on. Bitrix24 names user fields `UF_CRM_…`; a placeholder may
leave out the `CRM_` (`#DEAL_UF_PAYMENT_LINK#` is the deal's `UF_CRM_PAYMENT_LINK`), so a name is
resolved against the entity's real field list. A deal or lead reaches its contact by `CONTACT_ID`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from smsbridge.rules.said import Said

ENTITIES = ("deal", "lead", "contact")
LINKS = {"deal": {"contact": "CONTACT_ID"}, "lead": {"contact": "CONTACT_ID"}, "contact": {}}
_OF = {"deal": "сделки", "lead": "лида", "contact": "контакта"}  # "у сделки нет поля …"

_PLACEHOLDER = re.compile(r"#([A-Z][A-Z0-9]*)_([A-Z0-9_]+)#|\{=Document:([^{}]*)\}")
_FIELD = re.compile(r"[A-Z][A-Z0-9_]*")


@dataclass(frozen=True, slots=True)
class Placeholder:
    token: str  # as written: "#DEAL_TITLE#", "{=Document:TITLE}"
    entity: str | None  # "deal", "contact", …; None when the prefix names no CRM entity
    field: str  # as written, e.g. "UF_PAYMENT_LINK"


@dataclass(frozen=True, slots=True)
class Resolved:
    """A placeholder against the fields that exist: the field to read, or why there is none."""

    placeholder: Placeholder
    field: str | None  # the real field name, e.g. "UF_CRM_PAYMENT_LINK"
    problem: Said | None = None

    @property
    def entity(self) -> str | None:
        return self.placeholder.entity


def placeholders(text: str, entity: str) -> list[Placeholder]:
    """Each distinct placeholder of `text`, in order; `{=Document:…}` is a field of `entity`."""
    found: dict[str, Placeholder] = {}
    for match in _PLACEHOLDER.finditer(text):
        token = match.group(0)
        if token in found:
            continue
        if match.group(3) is not None:
            found[token] = Placeholder(token, entity, match.group(3).strip())
        else:
            prefix = match.group(1).lower()
            owner = prefix if prefix in ENTITIES else None
            found[token] = Placeholder(token, owner, match.group(2))
    return list(found.values())


def resolve(
    placeholder: Placeholder, entity: str, fields: Mapping[str, Collection[str]]
) -> Resolved:
    """Which field `placeholder` reads on an item of `entity` (its own, or its contact's), given
    each reachable entity's field names."""
    owner = placeholder.entity
    if owner is None:
        return _unknown(
            placeholder,
            "names no CRM entity (deal, lead or contact)",
            "не называет сущность CRM (сделку, лид или контакт)",
        )
    if owner != entity and owner not in LINKS[entity]:
        return _unknown(
            placeholder,
            f"a {entity} has no {owner} to read it from",
            f"у {_OF[entity]} нет {_OF[owner]}: поле неоткуда взять",
        )
    name = placeholder.field
    if not _FIELD.fullmatch(name):
        return _unknown(placeholder, f"{name!r} is not a field name", f"«{name}» — не имя поля")
    known = fields.get(owner, ())
    for candidate in (name, "UF_CRM_" + name.removeprefix("UF_")):
        if candidate in known:
            return Resolved(placeholder, candidate)
    return _unknown(placeholder, f"no field {name} on a {owner}", f"у {_OF[owner]} нет поля {name}")


def _unknown(placeholder: Placeholder, en: str, ru: str) -> Resolved:
    return Resolved(placeholder, None, Said(en, ru))


def value_text(value: Any) -> str:
    """A field's value as the text shows it: multiple values and multi-fields joined by ", "."""
    if value is None or value is False:
        return ""
    if isinstance(value, list):
        return ", ".join(filter(None, (value_text(v) for v in value)))
    if isinstance(value, dict):
        return value_text(value.get("VALUE"))
    return str(value).strip()


def render(text: str, values: Mapping[str, str]) -> str:
    """`text` with each placeholder token replaced by its value ("" for one not in `values`)."""
    return _PLACEHOLDER.sub(lambda match: values.get(match.group(0), ""), text)
