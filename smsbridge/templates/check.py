"""Checking an SMS template against real CRM data before anyone pays for it.

The text's placeholders are read (`placeholders`), a sample of the portal's newest items is
fetched with just the fields they need (`sample`), and each item's text is rendered and measured
(`rules.segments`). SMS.ru prices one rendering per distinct segment count (`/sms/cost`, for
`phone`); the sample's cost is each count's price times its items. What makes the texts dearer
than they need be is `rules.expensive`'s. The `check-template` flow and `smsbridge template check`
both run `check_template`; so can a page, with one call.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from clients.smsru.client import SmsRuClient
from clients.smsru.codes import meaning
from clients.smsru.errors import SmsRuApiError, SmsRuUnavailable
from smsbridge.portals.client import portal_client
from smsbridge.portals.lookup import installed
from smsbridge.portals.smsru import smsru_client_for, smsru_sender
from smsbridge.progress import ProgressCallback
from smsbridge.rules.expensive import CYRILLIC, Culprit, explain
from smsbridge.rules.phones import PhoneError, smsru_number, to_e164
from smsbridge.rules.said import Said
from smsbridge.rules.segments import Measure, capacity, check_text, measure
from smsbridge.runtime import Runtime
from smsbridge.templates.placeholders import ENTITIES, LINKS, placeholders, render, value_text
from smsbridge.templates.sample import Sample, read_sample

DEFAULT_SAMPLE = 200
MAX_SAMPLE = 5000
PRICE_PHONE = "+79161234567"  # a Russian mobile: what the price is asked for by default
_KOPECK = Decimal("0.01")


class TemplateCheckFailed(Exception):
    """The check could not be made (no items, SMS.ru refused to price); the text says why."""


@dataclass(frozen=True, slots=True)
class Rendering:
    item_id: int
    text: str
    measure: Measure


@dataclass(frozen=True, slots=True)
class PlaceholderFigures:
    token: str
    field: str | None  # "deal.UF_CRM_PAYMENT_LINK"; None for an unknown placeholder
    problem: Said | None  # why it is unknown
    empty: int  # items on which it renders as nothing


@dataclass(frozen=True, slots=True)
class PriceProbe:
    segments: int  # by our count
    items: int  # renderings of that many segments
    item_id: int  # whose rendering was priced
    smsru_segments: int | None  # as SMS.ru counts that rendering
    cost: Decimal  # SMS.ru's price of sending it once


@dataclass(frozen=True, slots=True)
class Costly:
    """A character that makes texts dearer, on how many items, and whether the template itself
    has it (else it comes from the CRM data)."""

    culprit: Culprit  # its `count` is the items whose text has it
    in_template: bool


@dataclass(frozen=True)
class TemplateCheck:
    text: str
    entity: str
    member_id: str
    phone: str  # the number prices are asked for
    fixed: Measure  # the text with every placeholder empty
    placeholders: tuple[PlaceholderFigures, ...]
    renderings: tuple[Rendering, ...]  # newest item first
    probes: tuple[PriceProbe, ...]  # one per distinct segment count, fewest first
    costly: tuple[Costly, ...]
    plain_segments: int  # the sample's segments with every plain replacement made
    requests: int  # Bitrix24 REST requests (a batch is one)

    @property
    def items(self) -> int:
        return len(self.renderings)

    @property
    def segments(self) -> int:
        return sum(r.measure.segments for r in self.renderings)

    def lengths(self) -> dict[str, int]:
        """Characters: min, median, p90 (nearest rank), max."""
        sizes = sorted(len(r.text) for r in self.renderings)
        if not sizes:
            return {}
        p90 = sizes[max(0, -(-9 * len(sizes) // 10) - 1)]
        median = int(statistics.median_low(sizes))
        return {"min": sizes[0], "median": median, "p90": p90, "max": sizes[-1]}

    def by_segments(self) -> dict[int, int]:
        return dict(sorted(Counter(r.measure.segments for r in self.renderings).items()))

    def by_encoding(self) -> dict[str, int]:
        return dict(Counter(r.measure.encoding for r in self.renderings).most_common())

    @property
    def crossing(self) -> int:
        """Items whose data push the text past a segment boundary the bare template fits in."""
        return sum(1 for r in self.renderings if r.measure.segments > self.fixed.segments)

    @property
    def switched_to_ucs2(self) -> int:
        """Items whose data turn a GSM-7 template into UCS-2 (a Cyrillic name, a quote)."""
        if self.fixed.encoding == "ucs2":
            return 0
        return sum(1 for r in self.renderings if r.measure.encoding == "ucs2")

    def to_one_fewer(self) -> dict[int, int]:
        """For each segment count above one: the characters the longest such text must lose to
        go in one segment fewer (an extension character counts as two)."""
        needed: dict[int, int] = {}
        for r in self.renderings:
            count = r.measure.segments
            if count > 1:
                excess = r.measure.units - capacity(r.measure.encoding, count - 1)
                needed[count] = max(needed.get(count, 0), excess)
        return dict(sorted(needed.items()))

    @property
    def unsendable(self) -> int:
        """Items whose text SMS.ru would refuse: empty, or over 8 SMS (not priced)."""
        return sum(1 for r in self.renderings if not _sendable(r))

    @property
    def sample_cost(self) -> Decimal:
        return sum((p.cost * p.items for p in self.probes), Decimal(0))

    @property
    def per_thousand(self) -> Decimal | None:
        if not self.items:
            return None
        return (self.sample_cost * 1000 / self.items).quantize(_KOPECK, ROUND_HALF_UP)

    def summary(self) -> dict[str, Any]:
        """JSON-able figures (money as strings, so they stay exact)."""
        return {
            "entity": self.entity,
            "items": self.items,
            "template": {"encoding": self.fixed.encoding, "segments": self.fixed.segments},
            "length": self.lengths(),
            "encodings": self.by_encoding(),
            "segments": {str(k): v for k, v in self.by_segments().items()},
            "total_segments": self.segments,
            "crossing": self.crossing,
            "unsendable": self.unsendable,
            "switched_to_ucs2": self.switched_to_ucs2,
            "to_one_fewer": {str(k): v for k, v in self.to_one_fewer().items()},
            "sample_cost": str(self.sample_cost),
            "per_thousand": None if self.per_thousand is None else str(self.per_thousand),
            "priced_for": self.phone,
            "unknown": {p.token: str(p.problem) for p in self.placeholders if p.problem},
            "empty": {p.token: p.empty for p in self.placeholders if p.field and p.empty},
            "costly": [
                {
                    "char": c.culprit.char,
                    "what": c.culprit.what,
                    "why": c.culprit.why,
                    "replacement": c.culprit.replacement,
                    "items": c.culprit.count,
                    "in_template": c.in_template,
                }
                for c in self.costly
            ],
            "plain_segments": self.plain_segments,
            "requests": self.requests,
        }


def validate_arguments(text: str, entity: str, sample: int, phone: str) -> str:
    """Bad arguments as `ValueError` before anything is asked of anyone; the phone in E.164."""
    if not text.strip():
        raise ValueError("the template is empty")
    if entity not in ENTITIES:
        raise ValueError(f"entity must be one of {', '.join(ENTITIES)}, not {entity!r}")
    if not 1 <= sample <= MAX_SAMPLE:
        raise ValueError(f"the sample must be 1 to {MAX_SAMPLE} items, not {sample}")
    try:
        return to_e164(phone)
    except PhoneError as exc:
        raise ValueError(f"--phone {phone}: {exc.reason}") from None


async def check_template(
    rt: Runtime,
    text: str,
    *,
    member_id: str,
    entity: str,
    sample: int = DEFAULT_SAMPLE,
    phone: str = PRICE_PHONE,
    on_progress: ProgressCallback | None = None,
) -> TemplateCheck:
    """The whole check. `ValueError` for bad arguments, `LookupError` for an unknown portal,
    `TemplateCheckFailed` (or the clients' errors) when the data or the price cannot be had."""
    e164 = validate_arguments(text, entity, sample, phone)
    async with rt.sessions() as session:
        [portal] = await installed(session, member_id)
    assert portal.id is not None
    smsru = smsru_client_for(portal, rt.settings, rt.http)
    client = portal_client(rt.sessions, rt.settings, rt.http, portal.id)
    found = placeholders(text, entity)
    data = await read_sample(client, entity, found, sample, on_progress)
    if not data.items:
        raise TemplateCheckFailed(f"the portal has no {entity}s to check the template against")
    values = [_values(entity, data, item) for item in data.items]
    texts = [render(text, v) for v in values]
    renderings = [_rendering(int(item["ID"]), t) for item, t in zip(data.items, texts, strict=True)]
    probes = await _price(smsru, smsru_sender(portal, rt.settings), e164, renderings)
    costly, plain_segments = _costly(text, renderings)
    return TemplateCheck(
        text=text,
        entity=entity,
        member_id=member_id,
        phone=e164,
        fixed=measure(render(text, {})),
        placeholders=tuple(_placeholder_figures(data, values)),
        renderings=tuple(renderings),
        probes=probes,
        costly=costly,
        plain_segments=plain_segments,
        requests=data.requests,
    )


def _values(entity: str, data: Sample, item: Mapping[str, Any]) -> dict[str, str]:
    values = {}
    for r in data.resolved:
        if r.field is None or r.entity is None:
            continue
        source: Mapping[str, Any] | None = item
        if r.entity != entity:
            linked_id = item.get(LINKS[entity][r.entity])
            source = data.linked[r.entity].get(int(linked_id)) if linked_id else None
        values[r.placeholder.token] = value_text(source.get(r.field) if source else None)
    return values


def _rendering(item_id: int, text: str) -> Rendering:
    return Rendering(item_id, text, measure(text))


def _placeholder_figures(data: Sample, values: list[dict[str, str]]) -> list[PlaceholderFigures]:
    """Each placeholder: the field it reads, or why none; on how many items it is empty."""
    empty = Counter(token for item in values for token, value in item.items() if not value)
    return [
        PlaceholderFigures(
            r.placeholder.token,
            f"{r.entity}.{r.field}" if r.field else None,
            r.problem,
            empty[r.placeholder.token] if r.field else len(values),
        )
        for r in data.resolved
    ]


def _costly(text: str, rs: list[Rendering]) -> tuple[tuple[Costly, ...], int]:
    """The characters that make the renderings dear, counted by item, and the sample's segments
    were each plainly replaced. Cyrillic letters the CRM data brings into a Latin text are one
    entry (a name or a title in Russian), their letters listed, and not one entry a letter."""
    bare = render(text, {})
    first: dict[tuple[str, bool], Culprit] = {}  # (char or CYRILLIC, in the template) → culprit
    items: Counter[tuple[str, bool]] = Counter()
    letters: set[str] = set()
    plain_segments = 0
    for rendering in rs:
        explained = explain(rendering.text)
        plain_segments += explained.after.segments
        here = set()
        for culprit in explained.culprits:
            in_template = culprit.char in bare
            grouped = culprit.what == CYRILLIC and not in_template
            key = (CYRILLIC if grouped else culprit.char, in_template)
            first.setdefault(key, culprit)
            here.add(key)
            if grouped:
                letters.add(culprit.char)
        items.update(here)
    costly = []
    for key, culprit in first.items():
        if key[0] == CYRILLIC:  # the letters of many items: one entry, transliterated
            culprit = replace(culprit, char="".join(sorted(letters)), replacement=None)
        costly.append(Costly(replace(culprit, count=items[key]), key[1]))
    return tuple(costly), plain_segments


def _sendable(rendering: Rendering) -> bool:
    return check_text(rendering.text, rendering.measure) is None


async def _price(
    smsru: SmsRuClient, sender: str | None, phone: str, renderings: list[Rendering]
) -> tuple[PriceProbe, ...]:
    """One `/sms/cost` per distinct segment count, on the first rendering of that count; the
    texts SMS.ru would refuse (empty, over 8 SMS) are not priced."""
    sendable = [r for r in renderings if _sendable(r)]
    first: dict[int, Rendering] = {}
    for r in sendable:
        first.setdefault(r.measure.segments, r)
    counts = Counter(r.measure.segments for r in sendable)
    probes = []
    for segments, rendering in sorted(first.items()):
        try:
            reply = await smsru.cost([smsru_number(phone)], rendering.text, sender=sender)
        except SmsRuApiError as exc:
            raise TemplateCheckFailed(
                f"SMS.ru refused the cost request (error {exc.code}: {exc.text})"
            ) from None
        except SmsRuUnavailable as exc:
            raise TemplateCheckFailed(
                f"SMS.ru did not answer the cost request ({exc.reason})"
            ) from None
        result = reply.numbers.get(smsru_number(phone))
        if result is None or not result.ok:
            code = None if result is None else result.status_code
            why = "no answer for the number" if code is None else f"{code}: {meaning(code)}"
            raise TemplateCheckFailed(f"SMS.ru did not price the text for {phone} ({why})")
        probes.append(
            PriceProbe(
                segments,
                counts[segments],
                rendering.item_id,
                result.segments,
                result.cost if result.cost is not None else Decimal(0),
            )
        )
    return tuple(probes)
