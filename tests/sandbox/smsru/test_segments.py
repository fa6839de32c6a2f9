"""The emulator's own segment counter, against counts worked out by hand from the GSM rule."""

from __future__ import annotations

import pytest

from sandbox.smsru.segments import GSM7_BASIC, GSM7_EXTENSION, count

EMOJI = "\N{GRINNING FACE}"  # U+1F600: outside the BMP, a surrogate pair in UTF-16


def test_the_tables_have_the_sizes_of_gsm_03_38() -> None:
    assert len(GSM7_BASIC) == 127  # 128 codes, one of them the escape
    assert len(GSM7_EXTENSION) == 10
    assert not GSM7_BASIC & GSM7_EXTENSION


@pytest.mark.parametrize(
    ("text", "encoding", "units", "parts"),
    [
        ("", "gsm7", 0, 1),  # an empty text prices as one SMS
        ("a" * 160, "gsm7", 160, 1),
        ("a" * 161, "gsm7", 161, 2),
        ("a" * 306, "gsm7", 306, 2),  # 2 × 153
        ("a" * 307, "gsm7", 307, 3),
        ("a" * 1224, "gsm7", 1224, 8),  # the most code 205 allows
        ("a" * 1225, "gsm7", 1225, 9),
        ("ж" * 70, "ucs2", 70, 1),
        ("ж" * 71, "ucs2", 71, 2),
        ("ж" * 134, "ucs2", 134, 2),  # 2 × 67
        ("ж" * 135, "ucs2", 135, 3),
        ("ж" * 536, "ucs2", 536, 8),
        ("ж" * 537, "ucs2", 537, 9),
        ("€", "gsm7", 2, 1),  # extension characters take two septets
        ("{" * 80, "gsm7", 160, 1),
        ("{" * 81, "gsm7", 162, 2),
        ("a" * 158 + "€", "gsm7", 160, 1),
        ("a" * 159 + "€", "gsm7", 161, 2),
        ("[x]~^|\\}\f", "gsm7", 17, 1),  # eight extension characters and an x
        ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà", "gsm7", 44, 1),
        ("a" * 100 + "ж", "ucs2", 101, 2),  # one Cyrillic letter turns it all to UCS-2
        ("ç", "ucs2", 1, 1),  # only the capital Ç is in the alphabet
        ("tab\there", "ucs2", 8, 1),
        ("`", "ucs2", 1, 1),
        ("€ж", "ucs2", 2, 1),  # in UCS-2 the euro sign is one unit like any other
    ],
)
def test_count(text: str, encoding: str, units: int, parts: int) -> None:
    assert count(text) == (encoding, units, parts)


@pytest.mark.parametrize(
    ("text", "utf16", "codepoint"),
    [
        (EMOJI, (2, 1), (1, 1)),
        (EMOJI * 35, (70, 1), (35, 1)),
        (EMOJI * 36, (72, 2), (36, 1)),
        ("a" * 69 + EMOJI, (71, 2), (70, 1)),
        (EMOJI * 70, (140, 3), (70, 1)),
    ],
)
def test_an_emoji_counts_as_a_surrogate_pair_or_as_one_character(
    text: str, utf16: tuple[int, int], codepoint: tuple[int, int]
) -> None:
    assert count(text)[1:] == count(text, ucs2_unit="utf16")[1:] == utf16
    assert count(text, ucs2_unit="codepoint")[1:] == codepoint
    assert count(text).encoding == "ucs2"
