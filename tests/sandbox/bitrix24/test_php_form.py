"""The emulator's `parse_str`: what PHP makes of well-formed, odd and malformed forms."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from support import RECORDED

from sandbox.bitrix24.php_form import parse_str


@pytest.mark.parametrize(
    ("body", "parsed"),
    [
        (b"a=1&b=2", {"a": "1", "b": "2"}),
        (b"a=1&a=2", {"a": "2"}),  # the last value wins
        (b"a[]=1&a[]=2", {"a": {"0": "1", "1": "2"}}),
        (b"a[5]=x&a[]=y", {"a": {"5": "x", "6": "y"}}),  # after the largest integer key
        (b"a[x]=1&a[]=2", {"a": {"x": "1", "0": "2"}}),
        (b"a[01]=x&a[-3]=y&a[]=z", {"a": {"01": "x", "-3": "y", "0": "z"}}),
        (b"a[ ]=1&a[ ]=2", {"a": {"0": "1", "1": "2"}}),  # one space in brackets appends too
        (b"a[  ]=1", {"a": {"  ": "1"}}),
        (b"a[][x]=1&a[][x]=2", {"a": {"0": {"x": "1"}, "1": {"x": "2"}}}),
        (b"a[b][c]=1&a[b][d]=2", {"a": {"b": {"c": "1", "d": "2"}}}),
        (b"a=1&a[b]=2", {"a": {"b": "2"}}),  # a group replaces a value …
        (b"a[b]=2&a=1", {"a": "1"}),  # … and a value a group
        (b"a[b][c]=1&a[b]=2", {"a": {"b": "2"}}),
        (b"a", {"a": ""}),
        (b"a=", {"a": ""}),
        (b"a=b=c", {"a": "b=c"}),
        (b"&&a=1&", {"a": "1"}),
        (b"a=1;b=2", {"a": "1;b=2"}),  # only & separates
        (b"=x&[a]=1&%20=2", {}),  # no name: skipped
        (b" a=1", {"a": "1"}),  # leading spaces of a name are dropped
        (b"a+b=1&a.c=2&a%20d=3", {"a_b": "1", "a_c": "2", "a_d": "3"}),
        (b"a.b[c.d]=1", {"a_b": {"c.d": "1"}}),  # only the base name is mangled
        (b"a]=1", {"a]": "1"}),
        (b"a[b=1", {"a_b": "1"}),  # an unclosed bracket turns the name plain
        (b"a[b.c d[e=1", {"a_b_c_d_e": "1"}),
        (b"a[b]c=1", {"a": {"b": "1"}}),  # what follows a group and opens none is dropped
        (b"a[b]]=1", {"a": {"b": "1"}}),
        (b"a[b][c=1", {"a": {"b": "1"}}),  # unclosed deeper down: the name ends before it
        (b"a[][c=1", {"a": {"0": "1"}}),
        (b"a[[b]=1", {"a": {"[b": "1"}}),
        (b"a%00b=1", {"a": "1"}),  # a NUL ends a name …
        (b"a=x%00y", {"a": "x\x00y"}),  # … but not a value
        (b"a=1+2%2B3", {"a": "1 2+3"}),
        (b"a=%zz%4&b=100%", {"a": "%zz%4", "b": "100%"}),  # broken escapes stay as they are
        (b"%61%5Bb%5D=1", {"a": {"b": "1"}}),  # names are decoded before brackets are read
    ],
)
def test_parse_str(body: bytes, parsed: dict[str, Any]) -> None:
    assert parse_str(body) == parsed


def test_utf8_and_other_bytes() -> None:
    form = parse_str(urlencode({"name[ru]": "СМС"}).encode())
    assert form == {"name": {"ru": "СМС"}}
    raw = parse_str(b"a=%FF%FE")["a"]
    assert raw.encode("utf-8", "surrogateescape") == b"\xff\xfe"  # kept, byte for byte


def test_only_the_first_max_input_vars_are_read() -> None:
    body = "&".join(f"v{n}={n}" for n in range(1001)).encode()
    form = parse_str(body)
    assert len(form) == 1000 and "v999" in form and "v1000" not in form
    assert len(parse_str(body, max_vars=10)) == 10


def test_a_name_nested_too_deeply_is_dropped_with_what_it_had() -> None:
    deepest = b"a" + b"[x]" * 64 + b"=1"
    node = parse_str(deepest)["a"]
    for _ in range(64):
        node = node["x"]
    assert node == "1"
    assert parse_str(b"a[y]=0&" + b"a" + b"[x]" * 65 + b"=1&b=2") == {"b": "2"}
    assert parse_str(b"a[x][y][z]=1", max_nesting=2) == {}


def as_php(form: Any) -> Any:
    """Groups keyed 0..n-1 as lists, the way the documentation's print_r structures show them."""
    if not isinstance(form, dict):
        return form
    values = {key: as_php(value) for key, value in form.items()}
    if list(values) == [str(n) for n in range(len(values))]:
        return list(values.values())
    return values


@pytest.mark.parametrize(
    "name",
    [
        "docs_messageservice_handler_crm_print_r.json",
        "docs_messageservice_handler_bizproc_print_r.json",
    ],
)
def test_reads_the_documented_handler_forms_as_php_printed_them(name: str) -> None:
    recorded = json.loads((RECORDED / "bitrix24" / "docs" / name).read_text())
    assert as_php(parse_str(urlencode(recorded["form_fields"]).encode())) == recorded["structure"]


def test_reads_a_real_event_body() -> None:
    recorded = json.loads(
        (RECORDED / "bitrix24" / "event_oncrmcontactadd_b24phpsdk_raw.json").read_text()
    )
    form = parse_str(recorded["raw_body"].encode())
    assert form["data"] == {"FIELDS": {"ID": recorded["form_fields"]["data[FIELDS][ID]"]}}
    assert form["auth"]["member_id"] == recorded["form_fields"]["auth[member_id]"]
    flat = {key: value for key, value in form.items() if isinstance(value, str)}
    flat |= {f"auth[{key}]": value for key, value in form["auth"].items()}
    flat["data[FIELDS][ID]"] = form["data"]["FIELDS"]["ID"]
    assert flat == recorded["form_fields"]
