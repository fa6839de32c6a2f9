"""Refusals on the app's page: the same reasons in both languages, English in `str()`."""

from __future__ import annotations

import string

from smsbridge.frame.refusal import WORDS, Refusal


def test_both_languages_word_the_same_reasons_with_the_same_values() -> None:
    assert WORDS["ru"].keys() == WORDS["en"].keys()
    for key, english in WORDS["en"].items():
        names = {name for _, name, _, _ in string.Formatter().parse(english) if name}
        russian = {name for _, name, _, _ in string.Formatter().parse(WORDS["ru"][key]) if name}
        assert names == russian, key


def test_a_refusal_is_english_in_logs_and_worded_for_the_page() -> None:
    refusal = Refusal("phone", phone="+7999abc", reason="letters are not digits")
    assert str(refusal) == "'+7999abc' is not a phone number: letters are not digits"
    assert refusal.words("ru") == "«+7999abc» — не номер телефона: letters are not digits"
    assert refusal.words("de") == refusal.words("ru")  # Russian unless English


def test_several_reasons_are_shown_in_turn() -> None:
    joined = Refusal.of(
        [Refusal("range", field="marketing_pace", low=1, high=9), Refusal("consent")]
    )
    assert str(joined) == (
        "marketing pace must be a whole number from 1 to 9;"
        " marketing consent must be 'required' or 'off'"
    )
    assert joined.words("ru").startswith("темп рекламной рассылки: целое число от 1 до 9; ")
