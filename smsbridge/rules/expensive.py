"""Why a text costs more SMS than it needs to, and what a plain replacement would save.

One character outside the GSM-7 alphabet sends the whole text as UCS-2: 70 characters an SMS
instead of 160. In a Latin text that character is usually a typographic quote or dash, `№`, an
emoji or a Cyrillic letter that looks Latin; each has a plain replacement (or can go). In GSM-7,
the extension characters (`{ } [ ] ^ ~ \\ | €`) take two septets each. In a Cyrillic text UCS-2
is unavoidable (short of transliteration), and only characters outside the BMP, emoji mostly,
count twice. The counting is `segments.measure`'s.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from smsbridge.rules.segments import GSM7_BASIC, GSM7_EXTENSION, Measure, measure

FORCES_UCS2 = "forces UCS-2"
TWICE_GSM7 = "counts twice in GSM-7"
TWICE_UCS2 = "counts twice in UCS-2"
CYRILLIC = "Cyrillic letter in a Latin text"

# Typographic characters and their plain GSM-7 spelling.
_TYPOGRAPHIC = {
    **dict.fromkeys("“”„‟«»″", ('"', "typographic quote")),
    **dict.fromkeys("‘’‚‛′`", ("'", "typographic quote")),
    **dict.fromkeys("‐‑‒–—―−", ("-", "dash")),
    "№": ("No.", "numero sign"),
    "…": ("...", "ellipsis"),
    "\u00a0": (" ", "non-breaking space"),
    "\u202f": (" ", "non-breaking space"),
    "\u2009": (" ", "thin space"),
    "\u200b": ("", "zero-width space"),
    "•": ("-", "bullet"),
    "×": ("x", "multiplication sign"),
    "₽": ("RUB", "rouble sign"),
}
# "EUR" would take three septets for the euro sign's two: it has no cheaper plain spelling.
_EXTENSION: dict[str, str | None] = {"€": None, "[": "(", "]": ")", "{": "(", "}": ")"}
_EXTENSION |= {"~": "-", "\\": "/", "|": "/", "^": "", "\f": ""}
# Cyrillic letters that look Latin, then a transliteration for the rest.
_LOOKALIKE = dict(zip("АВЕКМНОРСТХаеорсухі", "ABEKMHOPCTXaeopcyxi", strict=True))
_LATIN = (
    "a",
    "b",
    "v",
    "g",
    "d",
    "e",
    "e",
    "zh",
    "z",
    "i",
    "y",
    "k",
    "l",
    "m",
    "n",
    "o",
    "p",
    "r",
    "s",
    "t",
    "u",
    "f",
    "kh",
    "ts",
    "ch",
    "sh",
    "shch",
    "_",
    "y",
    "_",
    "e",
    "yu",
    "ya",
)
_TRANSLIT = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя", _LATIN, strict=True))


@dataclass(frozen=True, slots=True)
class Culprit:
    """One character that makes the text dearer, how often it occurs, and what could replace it
    ("" to drop it; None when there is no plain replacement)."""

    char: str
    count: int
    why: str  # FORCES_UCS2, TWICE_GSM7 or TWICE_UCS2
    what: str  # "typographic quote", "emoji", "Cyrillic letter in a Latin text", …
    replacement: str | None


@dataclass(frozen=True, slots=True)
class Explanation:
    before: Measure
    after: Measure  # of `plain`
    plain: str  # the text with every plain replacement made
    culprits: tuple[Culprit, ...]  # in order of first occurrence

    @property
    def saving(self) -> int:
        """SMS saved per message by the plain replacements."""
        return self.before.segments - self.after.segments


def is_cyrillic(char: str) -> bool:
    return "\u0400" <= char <= "\u04ff"


def cyrillic_text(text: str) -> bool:
    """More Cyrillic letters than Latin ones: UCS-2 is the text's own, not an accident."""
    cyrillic = sum(1 for ch in text if is_cyrillic(ch))
    latin = sum(1 for ch in text if "a" <= ch.lower() <= "z")
    return cyrillic > latin


def explain(text: str) -> Explanation:
    before = measure(text)
    counts = Counter(text)
    culprits: list[Culprit] = []
    cyrillic = before.encoding == "ucs2" and cyrillic_text(text)
    for char in counts:  # a Counter keeps first-occurrence order
        culprit = _culprit(char, counts[char], before.encoding, cyrillic)
        if culprit is not None:
            culprits.append(culprit)
    plain = plain_text(text, culprits)
    return Explanation(before, measure(plain), plain, tuple(culprits))


def plain_text(text: str, culprits: tuple[Culprit, ...] | list[Culprit]) -> str:
    """`text` with each culprit that has a replacement replaced."""
    table = {ord(c.char): c.replacement for c in culprits if c.replacement is not None}
    return text.translate(table) if table else text


def _culprit(char: str, count: int, encoding: str, cyrillic: bool) -> Culprit | None:
    astral = ord(char) > 0xFFFF
    if cyrillic:  # UCS-2 whatever: only what takes two units costs extra
        return Culprit(char, count, TWICE_UCS2, "emoji or symbol", "") if astral else None
    if char in GSM7_EXTENSION:
        return Culprit(char, count, TWICE_GSM7, "GSM-7 extension character", _EXTENSION[char])
    if encoding == "gsm7" or char in GSM7_BASIC:
        return None
    if char in _TYPOGRAPHIC:
        replacement, what = _TYPOGRAPHIC[char]
        return Culprit(char, count, FORCES_UCS2, what, replacement)
    if is_cyrillic(char):
        latin = _LOOKALIKE.get(char) or _TRANSLIT.get(char.lower())
        spelled = (latin.capitalize() if char.isupper() else latin) if latin else None
        if spelled == "_":  # the hard and soft signs have no letter of their own
            spelled = ""
        return Culprit(char, count, FORCES_UCS2, CYRILLIC, spelled)
    if astral:
        return Culprit(char, count, FORCES_UCS2, "emoji or symbol", "")
    return Culprit(char, count, FORCES_UCS2, "character outside GSM-7", None)
