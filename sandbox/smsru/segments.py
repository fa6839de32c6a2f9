"""How many SMS a text costs, counted by the emulator itself (never by the product's counter).

SMS.ru publishes only "at most 8 SMS" (code 205); the sizes are the GSM rule other Russian
gateways document (`shared/reference/smsru-api.md` §7): a text that fits the GSM 03.38 default
alphabet goes as 7-bit septets, 160 in one SMS and 153 per part when split, a character of the
extension table taking two (escape + character); anything else goes as UCS-2, 70 in one SMS and 67
per part. An empty text prices as one SMS (S5).

How SMS.ru counts a character outside the Basic Multilingual Plane (most emoji) is not published.
On the air it is a UTF-16 surrogate pair, two of UCS-2's 70 units, which is the default here;
`ucs2_unit="codepoint"` counts it as one character instead, for a test that wants the other reading.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

Encoding = Literal["gsm7", "ucs2"]
Ucs2Unit = Literal["utf16", "codepoint"]

# GSM 03.38 default alphabet, in code order 0x00-0x7F; 0x1B (the escape to the extension table)
# is not a character and is left out, so 127 remain.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# The extension table: each is sent as escape + character, two septets.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

SINGLE = {"gsm7": 160, "ucs2": 70}  # units in a text sent as one SMS
PART = {"gsm7": 153, "ucs2": 67}  # units per part once it is split (the rest is the UDH)


class Count(NamedTuple):
    encoding: Encoding
    units: int  # septets for GSM-7, 16-bit units (or characters) for UCS-2
    parts: int


def count(text: str, *, ucs2_unit: Ucs2Unit = "utf16") -> Count:
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        encoding: Encoding = "gsm7"
        units = sum(2 if c in GSM7_EXTENSION else 1 for c in text)
    else:
        encoding = "ucs2"
        astral = 2 if ucs2_unit == "utf16" else 1
        units = sum(astral if ord(c) > 0xFFFF else 1 for c in text)
    if units <= SINGLE[encoding]:
        return Count(encoding, units, 1)
    return Count(encoding, units, -(-units // PART[encoding]))
