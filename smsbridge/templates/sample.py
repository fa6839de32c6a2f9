"""A sample of real CRM items with exactly the fields a template's placeholders read.

Requests, all through the portal's client and its shared rate budget: one `batch` of
`crm.{entity}.fields` for the entities the placeholders name (which fields exist, user fields
included); the newest `size` items, 50 a page, the pages after the first 50 to a `batch`
(`listing.list_batched`), selecting only the fields read (and `CONTACT_ID` when a contact's
fields are read); then the linked contacts by `=ID`, 50 a page, 50 pages to a `batch`.
200 deals with their contacts take four requests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clients.bitrix24.client import MAX_BATCH, PAGE_SIZE, Bitrix24Client
from clients.bitrix24.listing import list_batched
from smsbridge.progress import ProgressCallback
from smsbridge.templates.placeholders import LINKS, Placeholder, Resolved, resolve

Item = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Sample:
    resolved: tuple[Resolved, ...]  # each placeholder, in the text's order
    items: tuple[Item, ...]  # newest first
    linked: Mapping[str, Mapping[int, Item]]  # "contact" → ID → its fields
    requests: int  # REST requests made (a batch counts one)


async def entity_fields(
    client: Bitrix24Client, entities: Sequence[str]
) -> dict[str, frozenset[str]]:
    """The field names of each entity, from one batch of `crm.{entity}.fields`."""
    answer = await client.batch({kind: (f"crm.{kind}.fields", {}) for kind in entities})
    fields = {}
    for kind in entities:
        error = answer.failure(kind)
        if error is not None:
            raise error
        fields[kind] = frozenset(answer.results[kind] or {})
    return fields


async def read_sample(
    client: Bitrix24Client,
    entity: str,
    found: Sequence[Placeholder],
    size: int,
    on_progress: ProgressCallback | None = None,
) -> Sample:
    reachable = [entity, *LINKS[entity]]
    fields = await entity_fields(client, reachable)
    resolved = tuple(resolve(p, entity, fields) for p in found)
    wanted = {
        kind: sorted({r.field for r in resolved if r.field and r.entity == kind})
        for kind in reachable
    }
    links = [kind for kind in LINKS[entity] if wanted[kind]]
    select = ["ID", *wanted[entity], *(LINKS[entity][kind] for kind in links)]
    params = {"select": list(dict.fromkeys(select))}
    items: list[Item] = []
    async for row in list_batched(
        client, f"crm.{entity}.list", params, limit=size, newest_first=True
    ):
        items.append(row)
        if on_progress is not None and len(items) % PAGE_SIZE == 0:
            await on_progress(len(items), size)
    later_pages = max(0, -(-len(items) // PAGE_SIZE) - 1)
    requests = 2 + -(-later_pages // MAX_BATCH)  # the fields, the first page, the batches
    linked: dict[str, dict[int, Item]] = {}
    for kind in links:
        ids = sorted({int(i) for row in items if (i := row.get(LINKS[entity][kind]))})
        linked[kind], made = await _by_id(client, kind, ids, ["ID", *wanted[kind]])
        requests += made
    if on_progress is not None:
        await on_progress(len(items), len(items))
    return Sample(resolved, tuple(items), linked, requests)


async def _by_id(
    client: Bitrix24Client, kind: str, ids: list[int], select: list[str]
) -> tuple[dict[int, Item], int]:
    """The items of `kind` with these IDs (50 a page, 50 pages a batch), and the requests made."""
    pages = [ids[at : at + PAGE_SIZE] for at in range(0, len(ids), PAGE_SIZE)]
    found: dict[int, Item] = {}
    requests = 0
    for at in range(0, len(pages), MAX_BATCH):
        chunk = pages[at : at + MAX_BATCH]
        calls = {
            str(n): (f"crm.{kind}.list", {"filter": {"=ID": page}, "select": select})
            for n, page in enumerate(chunk)
        }
        answer = await client.batch(calls)
        requests += 1
        for key in calls:
            error = answer.failure(key)
            if error is not None:
                raise error
            found |= {int(row["ID"]): row for row in answer.results[key] or []}
    return found, requests
