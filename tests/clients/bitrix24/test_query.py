"""build_query writes what PHP's http_build_query writes, so Bitrix24's parse_str reads it back."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from clients.bitrix24.query import build_query


def test_nested_maps_and_lists_like_php() -> None:
    # php > echo http_build_query(['filter' => ['>ID' => 5, '=PHONE' => '+7 925'],
    #                              'select' => ['ID', 'PHONE']]);
    query = build_query({"filter": {">ID": 5, "=PHONE": "+7 925"}, "select": ["ID", "PHONE"]})
    assert query == (
        "filter%5B%3EID%5D=5&filter%5B%3DPHONE%5D=%2B7+925&select%5B0%5D=ID&select%5B1%5D=PHONE"
    )
    assert parse_qsl(query) == [
        ("filter[>ID]", "5"),
        ("filter[=PHONE]", "+7 925"),
        ("select[0]", "ID"),
        ("select[1]", "PHONE"),
    ]


def test_deep_nesting() -> None:
    query = build_query({"fields": {"PHONE": [{"ID": 223, "VALUE": "444444"}]}})
    assert parse_qsl(query) == [
        ("fields[PHONE][0][ID]", "223"),
        ("fields[PHONE][0][VALUE]", "444444"),
    ]


def test_scalars_like_php() -> None:
    query = build_query({"t": True, "f": False, "n": None, "i": -3, "x": 2.0, "y": 0.25, "s": ""})
    assert query == "t=1&f=0&i=-3&x=2&y=0.25&s="


def test_empty_arrays_and_nulls_are_left_out() -> None:
    assert build_query({"a": [], "b": {}, "c": [None], "d": "x"}) == "d=x"
    assert build_query({}) == ""


def test_urlencode_like_php() -> None:
    # PHP's urlencode keeps only letters, digits and -_. (Python's quote would also keep ~)
    assert build_query({"k~ey": "a b&c=d/é~-_."}) == "k%7Eey=a+b%26c%3Dd%2F%C3%A9%7E-_."


def test_tuples_are_lists() -> None:
    assert build_query({"id": (1, 2)}) == "id%5B0%5D=1&id%5B1%5D=2"


def test_unsupported_values_are_refused() -> None:
    with pytest.raises(TypeError, match="set"):
        build_query({"a": {1, 2}})
