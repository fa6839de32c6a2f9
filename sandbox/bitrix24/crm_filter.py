"""The filter and order language of crm.*.list, as the portal's MySQL answers it.

A filter key is an optional operator and a field name (`>=ID`, `%NAME`, `!PHONE`, `@ID`); a
value may be one value or a group of them (any matches). Order sorts NULLs first, then numbers by
value, then strings case-insensitively.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from functools import partial
from typing import Any

from sandbox.bitrix24.php_values import entries, is_group, strval
from sandbox.bitrix24.rest import Params

_FILTER_KEY = re.compile(r"^(>=|<=|!=|!%|=|%|>|<|!|@)?(.*)$", re.DOTALL)
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_NUMERIC: dict[str, Callable[[float, Any], bool]] = {
    "=": operator.eq,
    "@": operator.eq,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def matches(record: Params, key: str, expected: Any, multi_fields: tuple[str, ...]) -> bool:
    """One filter condition on one record (see `condition`)."""
    return condition(key, expected, multi_fields)(record)


def condition(key: str, expected: Any, multi_fields: tuple[str, ...]) -> Callable[[Params], bool]:
    """One filter condition, read once for every record of a list call.

    A field the entity does not have is ignored, as by the portal. String equality is
    case-insensitive (the portal's MySQL collation); multi-fields match a value exactly only,
    whatever the operator.
    """
    match = _FILTER_KEY.match(key)
    assert match is not None  # the pattern matches any string
    op, name = match.group(1) or "", match.group(2)
    wanted = [strval(e) for e in entries(expected)] if is_group(expected) else [strval(expected)]
    negate = op.startswith("!")
    if name in multi_fields:

        def multi(record: Params) -> bool:
            hit = any(item["VALUE"] == w for item in record[name] for w in wanted)
            return hit != negate

        return multi
    compare = op.lstrip("!") or "="
    numbers = [_number(w) for w in wanted]
    if name == "ID" and compare in _NUMERIC and None not in numbers:
        # The same answer, faster: an ID is always a whole number (a list call reads them all).
        test = _NUMERIC[compare]

        def by_id(record: Params) -> bool:
            number = int(record["ID"])
            for w in numbers:
                if test(number, w):
                    return not negate
            return negate

        return by_id

    def single(record: Params) -> bool:
        if name not in record:
            return True
        value = record[name]
        actual = [strval(v) for v in value] if isinstance(value, list) else [strval(value)]
        hit = any(
            _compare(compare, a, _number(a), w, w_num)
            for a in actual
            for w, w_num in zip(wanted, numbers, strict=True)
        )
        return hit != negate

    return single


def id_range(key: str, expected: Any) -> tuple[str, float] | None:
    """(operator, bound) of a condition on ID by one number (`>ID`, `<=ID`…), which a list call
    answers by bisecting its ascending IDs; None for any other condition."""
    match = _FILTER_KEY.match(key)
    assert match is not None
    op, name = match.group(1) or "", match.group(2)
    if name != "ID" or op not in (">", ">=", "<", "<=") or is_group(expected):
        return None
    bound = _number(strval(expected))
    return None if bound is None else (op, bound)


def order_key(name: str) -> Callable[[Params], Any]:
    """`sort_key` of `name`, faster for ID (always a whole number: the same order)."""
    return _id_key if name == "ID" else partial(sort_key, name)


def _id_key(record: Params) -> int:
    return int(record["ID"])


def sort_key(name: str, record: Params) -> tuple[int, float, str]:
    """NULLs first, then numbers by value, then strings (MySQL-like ascending order)."""
    value = record.get(name)
    text = strval(value)
    if value is None or text == "":
        return (0, 0.0, "")
    number = _number(text)
    return (1, number, "") if number is not None else (2, 0.0, text.casefold())


def _compare(op: str, actual: str, a_num: float | None, wanted: str, w_num: float | None) -> bool:
    if op == "%":
        return wanted.casefold() in actual.casefold()
    a: Any = a_num if a_num is not None and w_num is not None else actual.casefold()
    w: Any = w_num if a_num is not None and w_num is not None else wanted.casefold()
    if op in ("=", "@"):
        return bool(a == w)
    if actual == "":  # NULL never compares
        return False
    return {">": a > w, ">=": a >= w, "<": a < w, "<=": a <= w}.get(op, False)


def _number(text: str) -> float | None:
    return float(text) if _NUMBER.fullmatch(text) else None
