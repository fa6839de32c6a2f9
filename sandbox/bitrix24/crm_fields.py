"""The CRM's schema as the emulator keeps it: fields per entity type, multi-fields, defaults.

Standard fields are listed in the portal's output order (lead: as in the recorded
crm.lead.fields). Facts: `shared/reference/bitrix24-api.md` §5-6.
"""

from __future__ import annotations

import re

KINDS = ("contact", "lead", "deal")


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_COMMON = (
    "ASSIGNED_BY_ID CREATED_BY_ID MODIFY_BY_ID DATE_CREATE DATE_MODIFY ORIGINATOR_ID ORIGIN_ID"
    " UTM_SOURCE UTM_MEDIUM UTM_CAMPAIGN UTM_CONTENT UTM_TERM"
)
_PERSON = "HONORIFIC NAME SECOND_NAME LAST_NAME BIRTHDATE POST"
FIELDS: dict[str, tuple[str, ...]] = {
    kind: _names(names)
    for kind, names in {
        "contact": f"ID {_PERSON} TYPE_ID SOURCE_ID SOURCE_DESCRIPTION COMMENTS OPENED EXPORT"
        f" HAS_PHONE HAS_EMAIL HAS_IMOL COMPANY_ID LEAD_ID {_COMMON}",
        "lead": f"ID TITLE {_PERSON} COMPANY_TITLE SOURCE_ID SOURCE_DESCRIPTION STATUS_ID"
        " STATUS_DESCRIPTION STATUS_SEMANTIC_ID CURRENCY_ID OPPORTUNITY IS_MANUAL_OPPORTUNITY"
        " OPENED COMMENTS HAS_PHONE HAS_EMAIL HAS_IMOL COMPANY_ID CONTACT_ID IS_RETURN_CUSTOMER"
        f" DATE_CLOSED {_COMMON}",
        "deal": "ID TITLE TYPE_ID CATEGORY_ID STAGE_ID STAGE_SEMANTIC_ID IS_NEW PROBABILITY"
        " CURRENCY_ID OPPORTUNITY COMPANY_ID CONTACT_ID BEGINDATE CLOSEDATE OPENED CLOSED COMMENTS"
        f" SOURCE_ID SOURCE_DESCRIPTION LEAD_ID {_COMMON}",
    }.items()
}
# Types as crm.*.fields gives them (recorded crm.lead.fields); the rest are strings.
FIELD_TYPES = {
    "ID": "integer",
    "OPPORTUNITY": "double",
    "PROBABILITY": "integer",
    "BIRTHDATE": "date",
    "BEGINDATE": "date",
    "CLOSEDATE": "date",
    "DATE_CREATE": "datetime",
    "DATE_MODIFY": "datetime",
    "DATE_CLOSED": "datetime",
    "OPENED": "char",
    "CLOSED": "char",
    "CONTACT_ID": "crm_contact",
    "COMPANY_ID": "crm_company",
    "LEAD_ID": "crm_lead",
    "ASSIGNED_BY_ID": "user",
    "CREATED_BY_ID": "user",
    "MODIFY_BY_ID": "user",
}
REQUIRED = {"lead": frozenset({"TITLE"})}  # as the recorded crm.lead.fields marks them
MULTI_FIELDS: dict[str, tuple[str, ...]] = {
    "contact": ("PHONE", "EMAIL", "WEB", "IM"),
    "lead": ("PHONE", "EMAIL", "WEB", "IM"),
    "deal": (),  # deals carry no phones of their own
}
READ_ONLY = frozenset(
    _names("ID DATE_CREATE DATE_MODIFY CREATED_BY_ID MODIFY_BY_ID HAS_PHONE HAS_EMAIL")
)
DEFAULTS: dict[str, dict[str, str]] = {
    "contact": {"TYPE_ID": "CLIENT", "OPENED": "Y", "EXPORT": "Y", "HAS_IMOL": "N"},
    "lead": {"STATUS_ID": "NEW", "OPENED": "Y", "CURRENCY_ID": "RUB", "HAS_IMOL": "N"},
    "deal": {"CATEGORY_ID": "0", "STAGE_ID": "NEW", "OPENED": "Y", "CLOSED": "N"},
}
USER_TYPES = frozenset(
    _names(
        "string integer double boolean date datetime enumeration url money address file employee"
        " crm crm_status iblock_element iblock_section"
    )
)
UF_NAME = re.compile(r"^[A-Z0-9_]+$")
UF_NAME_MAX = 50  # with the UF_CRM_ prefix (reference §6)
