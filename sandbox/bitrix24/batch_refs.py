"""Chained batch sub-calls: `$result[key][field]…` and the other answers a sub-call may read.

Before running a sub-call the portal rewrites each of its parameter values, at any depth, that
holds `$result`, `$next`, `$total`, `$time` or `$error` (any letter case) followed by `[step]`s:
what earlier sub-calls of the same batch answered, by command key. Behaviour as in the portal's
rest module (`CRestUtil::ParseBatchQuery`, `processBatchElement`; `CRestProvider::methodsBatch`
keeps the answers), quirks included, since a client that leans on them works only by luck:

- A reference runs to the next whitespace: `$result[a][ID]x` is replaced whole, `x` and all.
- Steps are followed as PHP's `isset` allows (array keys, list indexes, a string's characters);
  the first step that finds nothing (a failed or later sub-call, a missing field, a null) ends
  the walk, and the reference stands for the deepest value reached. Nothing is refused.
- A value that is nothing but the reference becomes that value, whatever it is: a number, a
  whole row, or, for a sub-call that has no answer, the whole map (every `next` so far, say, so
  `start=$next[last_page]` reads the first page again). Inside longer text only a string or a
  number is written in; anything else leaves the reference as it was typed.
- The answer maps' names are case-sensitive once matched: `$RESULT[a]` finds nothing (null).
- Parameter names are rewritten by the same rule against no answers, so a name that is nothing
  but `$…[…]` becomes "".
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from sandbox.bitrix24.php_values import strval
from sandbox.bitrix24.rest import Params

# The answers a reference can name, as the portal keys them while running the batch.
REFERABLE = ("result", "next", "total", "time", "error")

_NOT_SPACE = r"[^ \t\n\x0b\f\r]*"  # PCRE's \S (non-UTF mode)
_REFERENCE = re.compile(rf"\$({'|'.join(REFERABLE)})({_NOT_SPACE})", re.IGNORECASE | re.ASCII)
_IN_A_NAME = re.compile(rf"\$()({_NOT_SPACE})")
_STEP = re.compile(r"\[([^\]]+)\]")
_LIST_INDEX = re.compile(r"0|[1-9][0-9]*")  # a key PHP stores as a non-negative integer
_STRING_OFFSET = re.compile(r"[ \t\n\r\x0b\f]*([+-]?[0-9]+)[ \t\n\r\x0b\f]*")
_LONG = range(-(2**63), 2**63)

Answers = Mapping[str, Mapping[str, Any]]


def resolve(params: Params, answers: Answers) -> Params:
    """`params` of a sub-call with every reference to `answers` (by name in REFERABLE, then
    by command key) written in."""
    resolved: Params = {}
    for key, value in params.items():
        name = strval(_rewrite(key, {}, _IN_A_NAME))  # the text, or None for a whole reference
        if isinstance(value, dict):
            resolved[name] = resolve(value, answers)
        else:
            resolved[name] = _rewrite(value, answers, _REFERENCE)
    return resolved


def _rewrite(text: str, answers: Answers, pattern: re.Pattern[str]) -> Any:
    current: Any = text
    for match in pattern.finditer(text):
        steps = _STEP.findall(match.group(2))
        if not steps or not isinstance(current, str):
            continue
        found = _walk(answers.get(match.group(1)), steps)
        if match.group(0) == current:
            current = copy.deepcopy(found)
        elif isinstance(found, str | int | float) and not isinstance(found, bool):
            current = current.replace(match.group(0), strval(found))
    return current


def _walk(value: Any, steps: list[str]) -> Any:
    for step in steps:
        inner = _offset(value, step)
        if inner is None:  # PHP's isset(): missing, or null
            break
        value = inner
    return value


def _offset(value: Any, step: str) -> Any:
    if isinstance(value, Mapping):  # PHP stores "7" as 7: either spelling finds it
        found = value.get(step)
        return value.get(int(step)) if found is None and _LIST_INDEX.fullmatch(step) else found
    if isinstance(value, list):
        if _LIST_INDEX.fullmatch(step) and int(step) < len(value):
            return value[int(step)]
        return None
    if isinstance(value, str):  # a character, by an integer offset (negative from the end)
        match = _STRING_OFFSET.fullmatch(step)
        if match is None or int(match.group(1)) not in _LONG:
            return None
        index = int(match.group(1))
        return value[index] if -len(value) <= index < len(value) else None
    return None
