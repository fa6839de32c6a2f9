"""crm.*.list's filter operators and ordering, as the portal's MySQL answers them."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.bitrix24.crm_filter import matches, sort_key

PHONES = ("PHONE",)
RECORD: dict[str, Any] = {
    "ID": "12",
    "NAME": "Anna",
    "COMMENTS": None,
    "OPPORTUNITY": "9.5",
    "UF_CRM_TAGS": ["vip", "new"],
    "PHONE": [{"ID": "1", "VALUE": "+79255070602", "VALUE_TYPE": "WORK", "TYPE_ID": "PHONE"}],
}


@pytest.mark.parametrize(
    ("key", "expected", "hit"),
    [
        ("ID", 12, True),
        ("=ID", "12", True),
        ("ID", "012", True),  # numbers compare as numbers
        (">ID", "9", True),  # … not as strings ("12" < "9")
        ("<ID", "9", False),
        (">=ID", 12, True),
        ("<=ID", 11, False),
        ("!ID", 12, False),
        ("!=ID", 13, True),
        ("@ID", ["1", "12"], True),
        ("ID", {"0": "3", "1": "12"}, True),  # a form group: any of its values
        ("NAME", "anna", True),  # case-insensitive
        ("%NAME", "NN", True),
        ("!%NAME", "nn", False),
        (">NAME", "Alex", True),
        ("NAME", "Ann", False),
        ("COMMENTS", "", True),  # NULL equals the empty string …
        (">COMMENTS", "", False),  # … but never compares
        ("<OPPORTUNITY", "10", True),
        ("UF_CRM_TAGS", "vip", True),  # a multiple user field matches any of its values
        ("PHONE", "+79255070602", True),
        ("PHONE", "79255070602", False),  # multi-fields match exactly
        ("%PHONE", "7925", False),
        ("!PHONE", "+79255070602", False),
        ("NO_SUCH_FIELD", "x", True),  # a field the entity does not have is ignored
    ],
)
def test_matches(key: str, expected: Any, hit: bool) -> None:
    assert matches(RECORD, key, expected, PHONES) is hit


def test_order_puts_nulls_first_then_numbers_by_value_then_strings() -> None:
    rows = [{"X": v} for v in ["b", "10", None, "9", "", "A", "-1.5"]]
    ordered = [row["X"] for row in sorted(rows, key=lambda row: sort_key("X", row))]
    assert ordered == [None, "", "-1.5", "9", "10", "A", "b"]
