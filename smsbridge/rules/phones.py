"""Phone numbers: anything a CRM holds → E.164, or a reason why not."""

from __future__ import annotations

import re
from collections.abc import Iterator

import phonenumbers

from smsbridge.rules.said import Said

DEFAULT_REGION = "RU"
_MOBILE_TYPES = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)


_EXTENSION = re.compile(r"(доб|ext|вн|x)\.?\s*\d", re.IGNORECASE)
_SEVERAL = re.compile(r"[,;/\\|\n]")


NO_DIGITS = Said("not a phone number", "в нём нет ни одной цифры")
EXTENSION = Said("has an extension", "в нём добавочный номер")
LETTERS = Said("has letters: not a phone number", "в нём есть буквы")
SEVERAL = Said("holds more than one number", "в нём больше одного номера")
INVALID = Said("not a valid phone number", "такого номера не существует")


class PhoneError(ValueError):
    """The text is not a usable phone number; `said` says why, for people (`reason`: in
    English)."""

    def __init__(self, raw: str, said: Said) -> None:
        super().__init__(f"{said}: {raw!r}")
        self.raw = raw
        self.said = said
        self.reason = said.en


def to_e164(raw: str, region: str = DEFAULT_REGION) -> str:
    """ "+7 (925) 507-06-02", "89255070602", "79255070602" → "+79255070602".

    Read exactly: a value that carries more than one number — an extension, a note, a second
    number, keypad letters ("+7 916 CALL-NOW") — is not a number, so it is never sent to, and
    normalization leaves it as it is (rewriting it would lose what it carries)."""
    text = raw.strip()
    if not any(ch.isdigit() for ch in text):
        raise PhoneError(raw, NO_DIGITS)
    if _EXTENSION.search(text):
        raise PhoneError(raw, EXTENSION)
    if any(ch.isalpha() for ch in text):
        raise PhoneError(raw, LETTERS)
    if _SEVERAL.search(text) or text.count("+") > 1:
        raise PhoneError(raw, SEVERAL)
    for candidate, candidate_region in _readings(text, region):
        try:
            number = phonenumbers.parse(candidate, candidate_region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise PhoneError(raw, INVALID)


def _readings(text: str, region: str) -> Iterator[tuple[str, str | None]]:
    """As written (national numbers of `region`), then digits without a plus as international.

    Digits that begin with the region's trunk prefix ("8" in Russia) are a national number with a
    typo, never an international one: "8 (125) 507-06-02" must not become Japan's +81 255….
    """
    yield text, region
    digits = "".join(ch for ch in text if ch.isdigit())
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    trunk = metadata.national_prefix if metadata else None
    if not text.startswith("+") and len(digits) > 7 and not (trunk and digits.startswith(trunk)):
        yield "+" + digits, None


def is_mobile(e164: str) -> bool:
    """Whether an SMS can reach the number. Where the plan cannot tell mobiles from landlines
    (FIXED_LINE_OR_MOBILE, e.g. the US), the number gets the benefit of the doubt."""
    return phonenumbers.number_type(phonenumbers.parse(e164)) in _MOBILE_TYPES


def smsru_number(e164: str) -> str:
    """SMS.ru takes the international number without the plus."""
    return e164.removeprefix("+")
