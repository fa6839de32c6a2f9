"""The template check's wording: the two languages alike, every character's reason in Russian."""

from __future__ import annotations

import string

import pytest

from smsbridge.rules.expensive import explain
from smsbridge.templates.placeholders import ENTITIES
from smsbridge.templates.text import ENTITIES_RU, EXPENSIVE_RU, WORDS

# One of each kind of culprit `rules.expensive` names, in a Latin text and in a Cyrillic one.
LATIN = "Order “1” — № 5… ok\u00a0\u202f\u2009\u200b • 2×3 ₽ € [x] {y} ~ \\ | ^ Ж 🙂 ⊕ ‘a’"
CYRILLIC = "Заказ готов 🙂"


def test_both_languages_have_the_same_words() -> None:
    assert WORDS["ru"].keys() == WORDS["en"].keys()
    for key, english in WORDS["en"].items():  # the same fields to fill in
        assert _fields(WORDS["ru"][key]) == _fields(english), key


@pytest.mark.parametrize("text", [LATIN, CYRILLIC])
def test_every_reason_a_character_costs_more_reads_in_russian(text: str) -> None:
    culprits = explain(text).culprits
    assert culprits
    for culprit in culprits:
        assert culprit.what in EXPENSIVE_RU, culprit
        assert culprit.why in EXPENSIVE_RU, culprit


def test_every_entity_reads_in_russian() -> None:
    assert set(ENTITIES) == set(ENTITIES_RU)


def _fields(words: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(words) if name}
