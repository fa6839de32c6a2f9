"""PHP's `parse_str`, as the portal reads a query string, a form body and a batch command.

The portal is PHP, so the emulator reads what PHP reads, the way PHP reads it, and refuses
nothing: a later value replaces an earlier one, `a[]` appends after the largest integer key,
a value and a group under one name replace each other, and malformed names are mangled rather
than refused (`a.b` and `a b` become `a_b`; an unclosed `a[b` becomes the plain name `a_b`;
text after a closing bracket that opens no new one is dropped; a NUL ends a name). Only the
ini limits cut: the first `max_input_vars` pairs are read, and a name nested deeper than
`max_input_nesting_level` is dropped with everything already under it. Behaviour as in PHP's
`main/php_variables.c` (`php_default_treat_data`, `php_register_variable_ex`).

Keys are kept as strings ("0", "1" …), values are always strings, and bytes that are not UTF-8
survive as surrogates (PHP keeps bytes; what the portal does with them later is its business).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_to_bytes

MAX_INPUT_VARS = 1000  # php.ini default
MAX_INPUT_NESTING_LEVEL = 64  # php.ini default

Form = dict[str, Any]

_INTEGER_KEY = re.compile(r"0|-?[1-9][0-9]{0,18}")  # a key PHP stores as an integer
_LONG = range(-(2**63), 2**63)
_NOT_IN_A_NAME = re.compile(r"[ .\[]")


def parse_str(
    data: bytes,
    *,
    max_vars: int = MAX_INPUT_VARS,
    max_nesting: int = MAX_INPUT_NESTING_LEVEL,
) -> Form:
    form: Form = {}
    pairs = [pair for pair in data.split(b"&") if pair]  # empty pieces are skipped, not counted
    for pair in pairs[:max_vars]:
        name, _, value = pair.partition(b"=")
        _register(form, _decode(name).partition("\0")[0], _decode(value), max_nesting)
    return form


def _decode(raw: bytes) -> str:
    """`urldecode`: `+` is a space, `%XX` a byte, and a `%` not followed by two hex digits stays."""
    return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8", "surrogateescape")


def _register(form: Form, name: str, value: str, max_nesting: int) -> None:
    name = name.lstrip(" ")
    base, bracket, rest = name.partition("[")
    base = base.replace(" ", "_").replace(".", "_")
    if not base:
        return  # no name before the first bracket (or none at all): PHP skips the pair
    keys: list[str | None] = []  # None appends
    opened = bool(bracket)
    while opened:
        if len(keys) >= max_nesting:
            form.pop(base, None)
            return
        if rest.startswith("]") or rest.startswith(" ]"):
            keys.append(None)
            after = rest.partition("]")[2]
        else:
            key, closed, after = rest.partition("]")
            if not closed:  # unclosed: at the top the whole name turns plain, deeper it ends
                if not keys:
                    base = f"{base}_{_NOT_IN_A_NAME.sub('_', rest)}"
                break
            keys.append(key)
        opened, rest = after[:1] == "[", after[1:]
    _place(form, [base, *keys], value)


def _place(form: Form, path: list[str | None], value: str) -> None:
    node = form
    for key in path[:-1]:
        key = _next_index(node) if key is None else key
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    last = path[-1]
    node[_next_index(node) if last is None else last] = value


def _next_index(group: Form) -> str:
    """The key `[]` takes: one past the largest integer key; negative ones do not count."""
    integers = [int(key) for key in group if _INTEGER_KEY.fullmatch(key) and int(key) in _LONG]
    return str(max([-1, *integers]) + 1)
