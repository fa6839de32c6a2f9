"""Batch references as the portal rewrites them: every form, and what a reference to nothing is."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.bitrix24.batch_refs import resolve

ROWS = [{"ID": str(100 + i), "NAME": f"N{i}", "PHONE": None} for i in range(50)]
ANSWERS: dict[str, dict[str, Any]] = {
    "result": {
        "page": ROWS,
        "user": {"ID": "7", "UF_DEPARTMENT": [128, 130], "SCORE": 2.5, "ACTIVE": True},
        "added": 4950,
    },
    "next": {"page": 50},
    "total": {"page": 120},
    "time": {"page": {"duration": 0.0650072, "start": 1654094027.205917}},
    "error": {"bad": {"error": "", "error_description": "Not found"}},
}


def one(value: str) -> Any:
    return resolve({"v": value}, ANSWERS)["v"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("$result[user][ID]", "7"),
        ("$result[page][49][ID]", "149"),  # the SDKs' chained list: last row's ID
        ("$result[user][UF_DEPARTMENT][0]", 128),  # a whole value keeps its type
        ("$result[added]", 4950),
        ("$next[page]", 50),
        ("$total[page]", 120),
        ("$time[page][duration]", 0.0650072),
        ("$error[bad][error_description]", "Not found"),
        ("$RESULT[user][ID]", None),  # the map's name, once matched, is case-sensitive
        ("$Next[page]", None),
        ("$result[user][ID][0]", "7"),  # a string's character
        ("$result[page][0][NAME][-1]", "0"),  # from the end
        ("$result[page][0][NAME][x]", "N0"),  # not an offset: the walk stops at the string
    ],
)
def test_a_whole_value_becomes_what_it_names(value: str, expected: Any) -> None:
    assert one(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ID=$result[user][ID] and more", "ID=7 and more"),
        ("$result[page][0][ID] $result[page][1][ID]", "100 101"),
        ("from $next[page]", "from 50"),
        ("score $result[user][SCORE]", "score 2.5"),
        ("at $time[page][start]", "at 1654094027.2059"),  # PHP's 14 significant digits
        ("$result[user][ID]x", "7"),  # a reference runs to the next space, text and all
        ("$result[user][ID],$result[added]", "7"),  # the first step that misses ends the walk
        # Not a string or a number: left as typed.
        ("dept $result[user][UF_DEPARTMENT]", "dept $result[user][UF_DEPARTMENT]"),
        ("flag $result[user][ACTIVE]", "flag $result[user][ACTIVE]"),
        ("x $result[missing][ID]", "x $result[missing][ID]"),
        ("$result", "$result"),  # no step: not a reference
        ("$result[]", "$result[]"),
        ("price $5", "price $5"),
        ("$results[user][ID]", "7"),  # only a prefix of the name counts
    ],
)
def test_inside_text_only_strings_and_numbers_are_written_in(value: str, expected: str) -> None:
    assert one(value) == expected


def test_a_reference_to_a_failed_later_or_missing_call_stands_for_what_the_walk_reached() -> None:
    assert one("$result[bad][ID]") == ANSWERS["result"]  # bad failed: no result, the whole map
    assert one("$next[later]") == {"page": 50}  # so start=$next[…] reads page 1 again
    assert one("$result[page][50][ID]") == ROWS  # a short page has no row 50: the page
    assert one("$result[page][0][PHONE]") == ROWS[0]  # null is missing to isset()
    assert one("$error[page]") == ANSWERS["error"]  # page did not fail


def test_a_whole_value_is_a_copy() -> None:
    row = one("$result[page][0]")
    row["ID"] = "changed"
    assert ROWS[0]["ID"] == "100"


def test_nested_values_and_names_are_rewritten() -> None:
    params = {
        "filter": {">ID": "$result[page][49][ID]", "=NAME": {"0": "$result[page][0][NAME]"}},
        "order": {"ID": "ASC"},
        "$x[1]": "name is a whole reference",
        "a$x[1]": "name is not",
    }
    assert resolve(params, ANSWERS) == {
        "filter": {">ID": "149", "=NAME": {"0": "N0"}},
        "order": {"ID": "ASC"},
        "": "name is a whole reference",
        "a$x[1]": "name is not",
    }


def test_numeric_keys_find_integer_keyed_answers() -> None:
    answers: dict[str, dict[Any, Any]] = {"result": {7: {"ID": "x"}}}
    assert resolve({"v": "$result[7][ID]"}, answers) == {"v": "x"}
    assert resolve({"v": "$result[07][ID]"}, answers) == {"v": {7: {"ID": "x"}}}  # "07" is text
