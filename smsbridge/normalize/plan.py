"""What normalizing one CRM item's PHONE values to E.164 would change, without touching anything.

`smsbridge.rules.phones.to_e164` stays the one authority on what a number is; this module plans with
it and makes it cheap, because a nightly pass reads every phone of every portal. A CRM holds the
same number many times over and in many spellings ("8 (925) 507-06-02", "8-925-507-06-02"), and
parsing is the whole cost, so each distinct string is read once, and strings that differ only in
separators (spaces, brackets, dashes, dots) share one reading of their bare digits; the usual
Russian shapes of those skip text parsing altogether (`_valid_russian`). Both shortcuts give
`to_e164`'s answer, which depends only on the digits and a leading "+" of such strings (the tests
compare them over large messy corpora).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import phonenumbers

from smsbridge.rules.phones import DEFAULT_REGION, PhoneError, to_e164

CACHE_SIZE = 200_000  # distinct strings remembered (tens of MB); then the cache starts over
_SEPARATORS = str.maketrans("", "", " \t\u00a0()-.")

# (E.164, "") when the number is usable, (None, reason) when not.
_Reading = tuple[str | None, str]


@dataclass(frozen=True, slots=True)
class PhoneChange:
    """One PHONE entry to rewrite in place: sent back as {ID, VALUE: new, VALUE_TYPE}."""

    item_id: str
    old: str
    new: str
    value_type: str


@dataclass(frozen=True, slots=True)
class Unparseable:
    """A PHONE entry left as it is, and why."""

    item_id: str
    value: str
    reason: str


@dataclass(frozen=True, slots=True)
class PhonePlan:
    changes: list[PhoneChange]
    unparseable: list[Unparseable]
    already_e164: int


def check_region(region: str) -> str:
    """The region as phonenumbers names it; ValueError for an unknown one (national numbers
    would otherwise all read as invalid, silently)."""
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown region {region!r}: use a two-letter code such as RU or KZ")
    return code


class PhoneNormalizer:
    """Plans PHONE changes for items of one run; national numbers are read as `region`'s."""

    def __init__(self, region: str = DEFAULT_REGION, cache_size: int = CACHE_SIZE) -> None:
        self.region = check_region(region)
        self._cache_size = cache_size
        self._by_text: dict[str, _Reading] = {}
        self._by_digits: dict[str, _Reading] = {}

    def plan(self, items: Iterable[Mapping[str, Any]]) -> PhonePlan:
        """`items` are an item's PHONE entries as Bitrix24 lists them ({ID, VALUE, VALUE_TYPE})."""
        changes: list[PhoneChange] = []
        unparseable: list[Unparseable] = []
        already = 0
        for item in items:
            value = item.get("VALUE")
            text = "" if value is None else str(value)
            item_id = str(item.get("ID") or "")
            if not item_id:  # an update without ID would add a phone instead of fixing one
                unparseable.append(Unparseable("", text, "the entry has no ID"))
                continue
            e164, reason = self.read(text)
            if e164 is None:
                unparseable.append(Unparseable(item_id, text, reason))
            elif e164 == text:
                already += 1
            else:
                value_type = str(item.get("VALUE_TYPE") or "")
                changes.append(PhoneChange(item_id, text, e164, value_type))
        return PhonePlan(changes, unparseable, already)

    def read(self, text: str) -> _Reading:
        """`to_e164(text, region)` as (E.164, "") or (None, reason), remembered."""
        reading = self._by_text.get(text)
        if reading is not None:
            return reading
        if len(self._by_text) >= self._cache_size:
            self._by_text.clear()
            self._by_digits.clear()
        bare = _bare(text)
        if bare is None:
            reading = self._parse(text)
        else:
            reading = self._by_digits.get(bare)
            if reading is None:
                reading = self._by_digits[bare] = self._read_bare(bare)
        self._by_text[text] = reading
        return reading

    def _read_bare(self, bare: str) -> _Reading:
        if self.region == "RU":
            e164 = _valid_russian(bare)
            if e164 is not None:
                return e164, ""
        return self._parse(bare)

    def _parse(self, text: str) -> _Reading:
        try:
            return to_e164(text, self.region), ""
        except PhoneError as exc:
            return None, exc.reason


def _bare(text: str) -> str | None:
    """ "+7 (925) 507-06-02" → "+79255070602"; None for text with anything but separators."""
    stripped = text.strip()
    plus = stripped.startswith("+")
    digits = (stripped[1:] if plus else stripped).translate(_SEPARATORS)
    if digits.isascii() and digits.isdigit():
        return "+" + digits if plus else digits
    return None


def _valid_russian(bare: str) -> str | None:
    """The shortcut for most of a Russian CRM: "+7", "7" or "8" and ten digits, or ten digits
    alone, read in region RU, are +7 and those ten digits whenever phonenumbers finds that number
    valid, exactly as `to_e164` would read them; without parsing text, which is two thirds of its
    cost. Anything else, invalid ones included, goes to `to_e164`."""
    if len(bare) == 10:
        national = bare
    elif len(bare) == 11 and bare[0] in "78":
        national = bare[1:]
    elif len(bare) == 12 and bare.startswith("+7"):
        national = bare[2:]
    else:
        return None
    if national[0] == "0":  # the integer would lose it
        return None
    number = phonenumbers.PhoneNumber(country_code=7, national_number=int(national))
    return "+7" + national if phonenumbers.is_valid_number(number) else None
