"""What makes a text dear: characters that force UCS-2 in a Latin text, GSM-7 extension
characters, emoji in a Cyrillic text; and the SMS a plain replacement saves."""

from __future__ import annotations

from smsbridge.rules.expensive import FORCES_UCS2, TWICE_GSM7, TWICE_UCS2, explain


def culprits(text: str) -> dict[str, tuple[str, str, str | None, int]]:
    return {c.char: (c.why, c.what, c.replacement, c.count) for c in explain(text).culprits}


def test_one_typographic_character_makes_a_latin_text_three_sms_instead_of_one() -> None:
    text = "Your order " + "x" * 129 + " is ready — come by"  # 159 characters
    explained = explain(text)
    assert (explained.before.encoding, explained.before.segments) == ("ucs2", 3)
    assert (explained.after.encoding, explained.after.segments) == ("gsm7", 1)
    assert explained.saving == 2
    assert culprits(text) == {"—": (FORCES_UCS2, "dash", "-", 1)}


def test_quotes_numero_emoji_and_a_stray_cyrillic_letter() -> None:
    text = "Order №12 for «Sofa» is rеady 🎉"  # the "е" of "ready" is Cyrillic
    assert culprits(text) == {
        "№": (FORCES_UCS2, "numero sign", "No.", 1),
        "«": (FORCES_UCS2, "typographic quote", '"', 1),
        "»": (FORCES_UCS2, "typographic quote", '"', 1),
        "е": (FORCES_UCS2, "Cyrillic letter in a Latin text", "e", 1),
        "🎉": (FORCES_UCS2, "emoji or symbol", "", 1),
    }
    assert explain(text).plain == 'Order No.12 for "Sofa" is ready '


def test_cyrillic_letters_without_a_latin_twin_are_transliterated() -> None:
    assert explain("Hello Жанна").plain == "Hello Zhanna"  # mostly Latin: a stray name


def test_extension_characters_count_twice_and_the_euro_has_no_cheaper_spelling() -> None:
    text = "Total [EUR]: 5€ ~ now"
    assert culprits(text) == {
        "[": (TWICE_GSM7, "GSM-7 extension character", "(", 1),
        "]": (TWICE_GSM7, "GSM-7 extension character", ")", 1),
        "€": (TWICE_GSM7, "GSM-7 extension character", None, 1),
        "~": (TWICE_GSM7, "GSM-7 extension character", "-", 1),
    }
    explained = explain(text)
    assert (explained.before.units, explained.after.units) == (25, 22)


def test_a_cyrillic_text_is_ucs2_by_nature_only_emoji_count_twice() -> None:
    text = "Скидка «20%» — только сегодня! 😀"
    assert culprits(text) == {"😀": (TWICE_UCS2, "emoji or symbol", "", 1)}
    assert explain(text).after.encoding == "ucs2"


def test_a_plain_text_has_nothing_to_say() -> None:
    explained = explain("Your code is 1234")
    assert explained.culprits == () and explained.saving == 0
