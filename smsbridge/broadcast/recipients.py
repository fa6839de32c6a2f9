"""Where the recipients of a broadcast come from: a CSV file, or a CRM selection.

Numbers are kept exactly as the source has them (checking them is the validator's job), and so are
the other columns, so that the cleaned list still says whose number each one is.
"""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clients.bitrix24.client import Bitrix24Client

PHONE_HEADERS = frozenset({"phone", "телефон", "number"})
CRM_ENTITIES = ("contact", "lead")
# What identifies a person in the cleaned list, by entity: leads have a title besides a name.
_CRM_LABELS = {"contact": ("NAME",), "lead": ("TITLE", "NAME")}


class RecipientsError(ValueError):
    """The source cannot be read as a list of recipients; the text says why."""


@dataclass(frozen=True, slots=True)
class CrmRef:
    """The CRM item a number belongs to, and the PHONE value it was read from."""

    entity: str  # "contact" | "lead"
    id: int
    phone_id: str | None
    fields: Mapping[str, Any] = field(default_factory=dict)  # the extra fields asked for


@dataclass(frozen=True, slots=True)
class Recipient:
    phone: str  # as the source has it
    where: str  # for people: "line 7", "contact 12"
    columns: Mapping[str, str]  # carried into the cleaned list unchanged
    crm: CrmRef | None = None


def from_csv(path: Path | str) -> list[Recipient]:
    """Rows of a `,` or `;` separated UTF-8 file (BOM allowed).

    With a header, the phone is the column named phone, телефон or number (any case) and the other
    columns are carried; a file of one column may have no header. Blank rows are skipped.
    """
    rows = _read_rows(Path(path))
    if not rows:
        raise RecipientsError(f"{path}: the file has no rows")
    header = rows[0][1]
    phone_at = next((i for i, name in enumerate(header) if name.casefold() in PHONE_HEADERS), None)
    if phone_at is None:
        if any(len(cells) > 1 for _, cells in rows):
            raise RecipientsError(
                f"{path}: no phone column; name it phone, телефон or number"
                f" (the header has: {', '.join(header)})"
            )
        return [Recipient(cells[0], f"line {line}", {}) for line, cells in rows]
    carried = [(i, name) for i, name in enumerate(header) if i != phone_at]
    recipients = []
    for line, row in rows[1:]:
        cells = row + [""] * (len(header) - len(row))
        columns = {name: cells[i] for i, name in carried}
        recipients.append(Recipient(cells[phone_at], f"line {line}", columns))
    return recipients


def _read_rows(path: Path) -> list[tuple[int, list[str]]]:
    """Non-blank rows and their line numbers, split by the delimiter (`,` or `;`) that splits
    the first line into more fields."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise RecipientsError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise RecipientsError(f"{path}: is a directory, not a CSV file") from None
    except UnicodeDecodeError:
        raise RecipientsError(f"{path}: not UTF-8 text; save it as CSV UTF-8") from None
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    delimiter = max(",;", key=lambda d: len(next(csv.reader([first], delimiter=d))))
    reader = csv.reader(lines, delimiter=delimiter)
    rows = []
    for row in reader:
        cells = [cell.strip() for cell in row]
        if any(cells):
            rows.append((reader.line_num, cells))
    return rows


async def from_crm(
    client: Bitrix24Client,
    entity: str,
    filter: Mapping[str, Any],
    *,
    extra_fields: Sequence[str] = (),
) -> AsyncIterator[Recipient]:
    """One recipient per PHONE value of every contact or lead the filter selects, in ID order.

    `extra_fields` are also selected and kept on the `CrmRef` (e.g. a mark written earlier).
    """
    if entity not in CRM_ENTITIES:
        raise RecipientsError(
            f"CRM entity must be one of {', '.join(CRM_ENTITIES)}, not {entity!r}"
        )
    select = ["ID", "NAME", "TITLE", "PHONE", *extra_fields]
    labels = _CRM_LABELS[entity]
    params = {"filter": dict(filter), "select": select}
    async for row in client.list_all(f"crm.{entity}.list", params):
        entity_id = int(row["ID"])
        columns = {"entity": entity, "entity_id": str(entity_id)}
        columns |= {label.lower(): str(row.get(label) or "") for label in labels}
        ref_fields = {name: row.get(name) for name in extra_fields}
        for item in row.get("PHONE") or []:
            phone_id = str(item["ID"]) if item.get("ID") is not None else None
            ref = CrmRef(entity, entity_id, phone_id, ref_fields)
            yield Recipient(str(item.get("VALUE") or ""), f"{entity} {entity_id}", columns, ref)
