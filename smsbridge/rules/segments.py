"""How many SMS a text costs: GSM-7 (160, or 153 a part) or UCS-2 (70, or 67 a part).

GSM-7 extension characters take two septets and are never split across parts; UCS-2 counts
UTF-16 code units and never splits a surrogate pair. SMS.ru refuses more than 8 parts (205).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from smsbridge.rules.said import Said

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
MAX_SEGMENTS = 8

_LIMITS = {"gsm7": (160, 153), "ucs2": (70, 67)}


@dataclass(frozen=True, slots=True)
class Measure:
    encoding: Literal["gsm7", "ucs2"]
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int


def measure(text: str) -> Measure:
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        widths = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        return _pack("gsm7", widths)
    return _pack("ucs2", [2 if ord(ch) > 0xFFFF else 1 for ch in text])


def _pack(encoding: Literal["gsm7", "ucs2"], widths: list[int]) -> Measure:
    single, part = _LIMITS[encoding]
    units = sum(widths)
    if units <= single:
        return Measure(encoding, units, 1 if units else 0)
    segments, used = 1, 0
    for width in widths:
        if used + width > part:
            segments, used = segments + 1, 0
        used += width
    return Measure(encoding, units, segments)


def capacity(encoding: Literal["gsm7", "ucs2"], segments: int) -> int:
    """The most units a text of this encoding may have and still go in `segments` SMS (escape
    pairs and surrogate pairs at a part's end may take one unit of it)."""
    single, part = _LIMITS[encoding]
    if segments < 1:
        return 0
    return single if segments == 1 else part * segments


def check_text(text: str, measured: Measure | None = None) -> Said | None:
    """Why SMS.ru would refuse `text` whatever the number (empty, or over 8 parts: code 205), or
    None when it can be sent. Intake stores the reason on the failed message; the broadcast check
    refuses the whole broadcast with it. `measured` saves measuring the text again."""
    if not text.strip():
        return Said("the text is empty", "текст пустой")
    measured = measured or measure(text)
    if measured.segments > MAX_SEGMENTS:
        return Said(
            f"the text needs {measured.segments} SMS ({measured.encoding});"
            f" SMS.ru sends at most {MAX_SEGMENTS}",
            f"текст займёт {measured.segments} SMS ({measured.encoding});"
            f" SMS.ru отправляет не больше {MAX_SEGMENTS}",
        )
    return None
