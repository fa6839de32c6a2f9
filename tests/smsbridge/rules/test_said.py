from __future__ import annotations

import pytest

from smsbridge.rules.said import Said, portal_language


def test_said_is_english_for_logs_and_either_for_people() -> None:
    said = Said("the text is empty", "текст пустой")
    assert str(said) == "the text is empty"
    assert said.in_language("ru") == "текст пустой"
    assert said.in_language("en") == said.in_language("de") == "the text is empty"


@pytest.mark.parametrize(
    ("language_id", "language"),
    [("ru", "ru"), ("ua", "ru"), ("KZ", "ru"), ("by", "ru"), ("en", "en"), ("de", "en")],
)
def test_a_portal_is_written_to_in_russian_or_else_english(language_id: str, language: str) -> None:
    assert portal_language(language_id) == language


def test_a_portal_of_unknown_language_is_written_to_in_russian() -> None:
    assert portal_language(None) == portal_language("") == "ru"
