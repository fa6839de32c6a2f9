import pytest

from smsbridge.rules.said import Said
from smsbridge.rules.segments import MAX_SEGMENTS, check_text, measure


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "gsm7", 0, 0),
        ("a" * 160, "gsm7", 160, 1),
        ("a" * 161, "gsm7", 161, 2),
        ("a" * 306, "gsm7", 306, 2),
        ("a" * 307, "gsm7", 307, 3),
        ("ж" * 70, "ucs2", 70, 1),
        ("ж" * 71, "ucs2", 71, 2),
        ("ж" * 134, "ucs2", 134, 2),
        ("ж" * 135, "ucs2", 135, 3),
        ("{" * 80, "gsm7", 160, 1),  # extension characters count twice
        ("{" * 81, "gsm7", 162, 2),
        ("€" * 76 + "a", "gsm7", 153, 1),
        ("😀" * 35, "ucs2", 70, 1),  # one emoji is two UTF-16 code units
        ("😀" * 36, "ucs2", 72, 2),
        ("Code 1234: ok ж", "ucs2", 15, 1),  # one Cyrillic letter makes the whole text UCS-2
    ],
)
def test_measure(text: str, encoding: str, units: int, segments: int) -> None:
    measured = measure(text)
    assert (measured.encoding, measured.units, measured.segments) == (encoding, units, segments)


def test_escape_pairs_are_not_split_across_parts() -> None:
    # 152 plain characters then an escape pair: the pair does not fit in part one (153) and moves
    # to part two, so 152 + 2 + 152 + 2 septets need three parts, not two.
    text = "a" * 152 + "{" + "a" * 152 + "}"
    assert measure(text).units == 308
    assert measure(text).segments == 3


def test_surrogate_pairs_are_not_split_across_parts() -> None:
    text = "ж" * 66 + "😀" + "ж" * 66 + "😀"
    assert measure(text).units == 136
    assert measure(text).segments == 3


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "the text is empty"),
        (" \n\t", "the text is empty"),
        ("a" * 153 * 8, None),  # eight full GSM-7 parts: the most SMS.ru sends
        ("a" * (153 * 8 + 1), "the text needs 9 SMS (gsm7); SMS.ru sends at most 8"),
        ("ж" * 67 * 8, None),
        ("ж" * (67 * 8 + 1), "the text needs 9 SMS (ucs2); SMS.ru sends at most 8"),
    ],
)
def test_check_text(text: str, problem: str | None) -> None:
    for checked in (check_text(text), check_text(text, measure(text))):
        assert (str(checked) if checked else None) == problem


def test_check_text_says_why_in_russian_too() -> None:
    assert check_text(" ") == Said("the text is empty", "текст пустой")
    too_long = check_text("ж" * (67 * 8 + 1))
    assert too_long is not None
    assert too_long.in_language("ru") == "текст займёт 9 SMS (ucs2); SMS.ru отправляет не больше 8"


def test_check_text_trusts_the_measure_it_is_given() -> None:
    """Intake measures once and passes the measure on: the check must use it, not count again."""
    over = measure("ж" * (67 * MAX_SEGMENTS + 1))
    assert str(check_text("short", over)) == "the text needs 9 SMS (ucs2); SMS.ru sends at most 8"
