"""PHP's loose reading of parameter values: empty(), strval(), intval()."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.bitrix24.php_values import entries, intval, php_empty, strval


@pytest.mark.parametrize(
    ("value", "empty"),
    [
        (None, True),
        (False, True),
        (0, True),
        (0.0, True),
        ("", True),
        ("0", True),
        ([], True),
        ({}, True),
        ("0.0", False),  # only "0" among strings
        (" ", False),
        ("a", False),
        (1, False),
        (True, False),
        (["0"], False),
    ],
)
def test_php_empty(value: Any, empty: bool) -> None:
    assert php_empty(value) is empty


@pytest.mark.parametrize(
    ("value", "text", "number"),
    [
        ("12abc", "12abc", 12),
        ("  -3", "  -3", -3),
        ("+7", "+7", 7),
        ("abc", "abc", 0),
        (5, "5", 5),
        (True, "1", 1),
        (False, "", 0),
        (None, "", 0),
        ({"a": 1}, "", 1),  # PHP: an array is 1 unless empty
        ({}, "", 0),
        (2.0, "2", 2),  # floats print with PHP's 14 significant digits
        (0.1 + 0.2, "0.3", 0),
        (1e25, "1.0E+25", 0),  # out of range
        (1e-5, "1.0E-5", 0),
        (-2.7, "-2.7", -2),
        (-0.0, "-0", 0),
    ],
)
def test_strval_and_intval(value: Any, text: str, number: int) -> None:
    assert strval(value) == text
    assert intval(value) == number


def test_entries_of_a_list_a_group_and_a_scalar() -> None:
    assert entries(["a", "b"]) == ["a", "b"]
    assert entries({"0": "a", "x": "b"}) == ["a", "b"]
    assert entries("a") == []
