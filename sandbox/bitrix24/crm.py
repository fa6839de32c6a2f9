"""The portal's CRM: contacts, leads and deals, their multi-fields and user fields.

REST methods crm.{kind}.list/get/add/update and crm.{kind}.userfield.list/add, plus seeding and
inspection for tests. Not thread-safe on its own: `PortalEmulator` calls it under its lock.
Facts: `shared/reference/bitrix24-api.md` §5-6 and the recorded crm.* responses.
"""

from __future__ import annotations

import copy
import itertools
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandbox.bitrix24.crm_fields import (
    DEFAULTS,
    FIELD_TYPES,
    FIELDS,
    KINDS,
    MULTI_FIELDS,
    READ_ONLY,
    REQUIRED,
    UF_NAME,
    UF_NAME_MAX,
    USER_TYPES,
)
from sandbox.bitrix24.crm_filter import condition, id_range, order_key
from sandbox.bitrix24.php_values import entries, intval, is_group, strval
from sandbox.bitrix24.rest import MSK, Caller, Outcome, Params, RestError

PAGE_SIZE = 50  # *.list pages are fixed at 50 (reference §5)

Phone = str | tuple[str, str]  # "+7…" (type WORK) or (value, VALUE_TYPE)


@dataclass(slots=True)
class _UserField:
    definition: dict[str, Any]
    multiple: bool


@dataclass(slots=True)
class _Items:
    """The items of one entity type and the user fields defined for it."""

    records: dict[int, Params] = field(default_factory=dict)
    next_id: int = 1
    userfields: dict[str, _UserField] = field(default_factory=dict)


class Crm:
    def __init__(self) -> None:
        self._items = {kind: _Items() for kind in KINDS}
        self._multi_ids = itertools.count(1)  # multi-field value IDs run across all items
        self._uf_ids = itertools.count(1)

    # --- seeding and inspection -----------------------------------------------------------------

    def seed(self, kind: str, fields: Params, phones: Sequence[Phone], as_user: Caller) -> int:
        if phones:
            fields["PHONE"] = [
                {"VALUE": p, "VALUE_TYPE": "WORK"}
                if isinstance(p, str)
                else {"VALUE": p[0], "VALUE_TYPE": p[1]}
                for p in phones
            ]
        return int(self.add_item(kind, as_user, {"FIELDS": fields}).result)

    def entity(self, kind: str, entity_id: int) -> dict[str, Any]:
        """What crm.{kind}.get answers for the item (KeyError if there is none)."""
        return self._render(kind, self._items[kind].records[entity_id], None)

    # --- items ----------------------------------------------------------------------------------

    def get_item(self, kind: str, caller: Caller, params: Params) -> Outcome:
        entity_id = intval(params.get("ID"))
        if entity_id <= 0:
            raise _crm_error("ID is not defined or invalid.")  # recorded
        record = self._items[kind].records.get(entity_id)
        if record is None:
            raise _crm_error("Not found")  # recorded
        return Outcome(self._render(kind, record, None))

    def add_item(self, kind: str, caller: Caller, params: Params) -> Outcome:
        fields = params.get("FIELDS")
        if not isinstance(fields, dict):
            raise _crm_error("The parameter 'fields' must be array.")
        items = self._items[kind]
        entity_id, items.next_id = items.next_id, items.next_id + 1
        now, user = _now(), str(caller.user_id)
        record: Params = dict.fromkeys(FIELDS[kind]) | DEFAULTS[kind]
        record |= {
            "ID": str(entity_id),
            "ASSIGNED_BY_ID": user,
            "CREATED_BY_ID": user,
            "MODIFY_BY_ID": user,
            "DATE_CREATE": now,
            "DATE_MODIFY": now,
        }
        record |= {name: [] if uf.multiple else None for name, uf in items.userfields.items()}
        record |= {name: [] for name in MULTI_FIELDS[kind]}
        self._write(kind, record, fields, adding=True)
        items.records[entity_id] = record
        return Outcome(entity_id)  # an integer, as recorded (crm_contact_add_batch)

    def update_item(self, kind: str, caller: Caller, params: Params) -> Outcome:
        entity_id = intval(params.get("ID"))
        if entity_id <= 0:
            raise _crm_error("The parameter 'ownerEntityID' is invalid or not defined.")
        fields = params.get("FIELDS")
        if not isinstance(fields, dict):
            raise _crm_error("The parameter 'fields' must be array.")
        record = self._items[kind].records.get(entity_id)
        if record is None:
            raise _crm_error("Not found.")
        self._write(kind, record, fields, adding=False)
        record |= {"MODIFY_BY_ID": str(caller.user_id), "DATE_MODIFY": _now()}
        return Outcome(True)

    def list_items(self, kind: str, caller: Caller, params: Params) -> Outcome:
        """Filter, order, select and page like crm.*.list (reference §5, §6).

        `start` is rounded down to a page (the portal turns it into a page number); `start=-1` skips
        the count and answers the first page without `total` or `next`.
        """
        flt = params.get("FILTER")
        conditions = flt if isinstance(flt, dict) else {}
        multi = MULTI_FIELDS[kind]
        records = self._items[kind].records
        ids, rows = list(records), list(records.values())  # IDs ascending: they only grow
        tests = []
        for key, value in conditions.items():
            bounds = id_range(str(key), value)
            if bounds is None:
                tests.append(condition(str(key), value, multi))
            else:  # the same rows a scan would keep, found by bisection
                low, high = _id_slice(ids, *bounds)
                ids, rows = ids[low:high], rows[low:high]
        for test in tests:
            rows = [r for r in rows if test(r)]
        order = params.get("ORDER")
        sorts = [
            (str(name), strval(direction).upper() == "DESC")
            for name, direction in (order.items() if isinstance(order, dict) else [])
        ]
        if sorts != [("ID", False)]:  # alone, ID ascending is the order the rows are in
            for name, descending in reversed(sorts):
                rows.sort(key=order_key(name), reverse=descending)
        select = [strval(name) for name in entries(params.get("SELECT"))]
        start = intval(params.get("START"))
        if start < 0:
            return Outcome([self._render(kind, r, select) for r in rows[:PAGE_SIZE]])
        offset = start // PAGE_SIZE * PAGE_SIZE
        page = [self._render(kind, r, select) for r in rows[offset : offset + PAGE_SIZE]]
        more = offset + PAGE_SIZE < len(rows)
        return Outcome(page, total=len(rows), next=offset + PAGE_SIZE if more else None)

    def _write(self, kind: str, record: Params, fields: Params, *, adding: bool) -> None:
        """Apply `fields`; unknown and read-only names are ignored, as the portal does."""
        userfields = self._items[kind].userfields
        for name, value in fields.items():
            if name in MULTI_FIELDS[kind]:
                record[name] = self._merge_multi(name, record[name], value, adding=adding)
            elif name in userfields:
                many = userfields[name].multiple
                record[name] = [_stored(v) for v in entries(value)] if many else _stored(value)
            elif name in FIELDS[kind] and name not in READ_ONLY:
                record[name] = _stored(value)
        for flag, multi in (("HAS_PHONE", "PHONE"), ("HAS_EMAIL", "EMAIL")):
            if flag in record:
                record[flag] = "Y" if record[multi] else "N"

    def _merge_multi(
        self, type_id: str, current: list[dict[str, str]], value: Any, *, adding: bool
    ) -> list[dict[str, str]]:
        """Multi-field update per reference §6.

        An entry with ID and VALUE updates that value; an entry without ID adds one; `DELETE: "Y"`,
        an empty VALUE or no VALUE at all with an ID deletes; entries not listed stay. An ID that
        is not one of this item's values is ignored.
        """
        items = [dict(item) for item in current]
        for entry in entries(value):
            if not isinstance(entry, dict):
                continue
            entry_id = "" if adding else strval(entry.get("ID"))
            if not entry_id:
                text = strval(entry.get("VALUE"))
                if text:
                    kind = strval(entry.get("VALUE_TYPE")) or "WORK"
                    item = {"ID": str(next(self._multi_ids)), "VALUE_TYPE": kind}
                    items.append(item | {"VALUE": text, "TYPE_ID": type_id})
                continue
            found = next((item for item in items if item["ID"] == entry_id), None)
            if found is None:
                continue
            text = strval(entry.get("VALUE"))
            if entry.get("DELETE") == "Y" or not text:
                items.remove(found)
                continue
            found["VALUE"] = text
            if strval(entry.get("VALUE_TYPE")):
                found["VALUE_TYPE"] = strval(entry.get("VALUE_TYPE"))
        return items

    def _render(self, kind: str, record: Params, select: list[str] | None) -> dict[str, Any]:
        """An item as get (`select` None) or list answers it.

        A list answers the standard fields for an empty select or `*`, user fields for `UF_*`, and
        multi-fields only when named (reference §6); ID always. Empty multi-fields are left out.
        """
        userfields = list(self._items[kind].userfields)
        if select is None:
            names = {*FIELDS[kind], *userfields, *MULTI_FIELDS[kind]}
        else:
            names = {"ID", *select}
            if not select or "*" in select:
                names |= set(FIELDS[kind])
            if "UF_*" in select:
                names |= set(userfields)
        out: dict[str, Any] = {}
        for name in (*FIELDS[kind], *userfields):
            if name in names:
                out[name] = copy.deepcopy(record[name])
        for name in MULTI_FIELDS[kind]:
            if name in names and record[name]:
                out[name] = copy.deepcopy(record[name])
        return out

    def describe_fields(self, kind: str, caller: Caller, params: Params) -> Outcome:
        """crm.{kind}.fields: every field by name, standard, multi and user fields, in the shape
        of the recorded crm.lead.fields (a user field's title is its name, its label apart)."""
        described: dict[str, Any] = {}
        for name in FIELDS[kind]:
            described[name] = _description(FIELD_TYPES.get(name, "string"), name, name)
            described[name]["isReadOnly"] = name in READ_ONLY
            described[name]["isRequired"] = name in REQUIRED.get(kind, ())
        for name in MULTI_FIELDS[kind]:
            described[name] = _description("crm_multifield", name, name, multiple=True)
        for name, uf in self._items[kind].userfields.items():
            described[name] = _description(
                uf.definition["USER_TYPE_ID"], name, name, multiple=uf.multiple, dynamic=True
            )
        return Outcome(described)

    # --- user fields ----------------------------------------------------------------------------

    def list_userfields(self, kind: str, caller: Caller, params: Params) -> Outcome:
        flt = params.get("FILTER")
        conditions = flt if isinstance(flt, dict) else {}
        found = [
            copy.deepcopy(uf.definition)
            for uf in self._items[kind].userfields.values()
            if all(strval(uf.definition.get(str(k))) == strval(v) for k, v in conditions.items())
        ]
        return Outcome(found, total=len(found))

    def add_userfield(self, kind: str, caller: Caller, params: Params) -> Outcome:
        """FIELD_NAME gains `UF_CRM_`, is uppercased, A-Z0-9_ and at most 50 long, else ERROR_CORE.

        The duplicate-name error is not documented; the emulator answers ERROR_CORE (the user-field
        manager's failures all surface as that code) with its own text.
        """
        if not caller.admin:
            raise _crm_error("Access denied.")
        fields = params.get("FIELDS")
        if not isinstance(fields, dict):
            raise _crm_error("The parameter 'fields' must be array.")
        name = strval(fields.get("FIELD_NAME")).upper()
        if not name:
            raise RestError("ERROR_CORE", "FIELD_NAME is not defined")
        if not name.startswith("UF_CRM_"):
            name = "UF_CRM_" + name
        if not UF_NAME.match(name) or len(name) > UF_NAME_MAX:
            raise RestError("ERROR_CORE", f"Invalid field name {name}: A-Z, 0-9, _ and ≤ 50 long")
        user_type = strval(fields.get("USER_TYPE_ID"))
        if user_type not in USER_TYPES:
            raise RestError("ERROR_CORE", f"Unknown USER_TYPE_ID {user_type!r}")
        multiple = strval(fields.get("MULTIPLE")) == "Y"
        if user_type == "boolean" and multiple:
            raise RestError("ERROR_CORE", "A boolean field cannot be multiple")
        items = self._items[kind]
        if name in items.userfields:
            raise RestError("ERROR_CORE", f"A field named {name} already exists")
        field_id = next(self._uf_ids)
        items.userfields[name] = _UserField(
            {
                "ID": str(field_id),
                "ENTITY_ID": f"CRM_{kind.upper()}",
                "FIELD_NAME": name,
                "USER_TYPE_ID": user_type,
                "XML_ID": strval(fields.get("XML_ID")) or None,
                "SORT": strval(fields.get("SORT")) or "100",
                "MULTIPLE": "Y" if multiple else "N",
                "MANDATORY": "Y" if strval(fields.get("MANDATORY")) == "Y" else "N",
                "SHOW_FILTER": strval(fields.get("SHOW_FILTER")) or "N",
                "SHOW_IN_LIST": strval(fields.get("SHOW_IN_LIST")) or "Y",
                "EDIT_IN_LIST": strval(fields.get("EDIT_IN_LIST")) or "Y",
                "IS_SEARCHABLE": strval(fields.get("IS_SEARCHABLE")) or "N",
                "SETTINGS": copy.deepcopy(fields.get("SETTINGS")) or {},
            },
            multiple,
        )
        for record in items.records.values():
            record[name] = [] if multiple else None
        return Outcome(field_id)


def _description(
    field_type: str, name: str, label: str, *, multiple: bool = False, dynamic: bool = False
) -> dict[str, Any]:
    described: dict[str, Any] = {
        "type": field_type,
        "isRequired": False,
        "isReadOnly": False,
        "isImmutable": False,
        "isMultiple": multiple,
        "isDynamic": dynamic,
        "title": name,
    }
    if dynamic:
        described |= {"listLabel": label, "formLabel": label, "filterLabel": label}
    return described


def _crm_error(description: str) -> RestError:
    """CRM methods throw without a code: the body's `error` is "" (recorded batches, docs)."""
    return RestError("", description)


def _stored(value: Any) -> str | None:
    return None if value is None or is_group(value) else strval(value)


def _now() -> str:
    return datetime.now(MSK).isoformat(timespec="seconds")


def _id_slice(ids: list[int], op: str, bound: float) -> tuple[int, int]:
    """Where the IDs `op` `bound` lie in ascending `ids`, as slice bounds."""
    if op == ">":
        return bisect_right(ids, bound), len(ids)
    if op == ">=":
        return bisect_left(ids, bound), len(ids)
    if op == "<":
        return 0, bisect_left(ids, bound)
    return 0, bisect_right(ids, bound)
