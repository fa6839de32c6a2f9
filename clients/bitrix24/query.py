"""PHP `http_build_query`, for the `"method?query"` strings of a batch `cmd`.

Bitrix24 reads each sub-call's query with PHP's `parse_str`, so we write it the way PHP would:
nested maps and lists become `a%5Bb%5D%5B0%5D=v` (`a[b][0]=v`), True/False become 1/0, None and
empty lists or maps are left out, and keys and values are `urlencode`d (space as `+`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote_plus


def build_query(params: Mapping[str, Any]) -> str:
    pairs: list[str] = []
    for key, value in params.items():
        _add(pairs, _encode(str(key)), value)
    return "&".join(pairs)


def _add(pairs: list[str], name: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        items: Any = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        pairs.append(f"{name}={_encode(_scalar(name, value))}")
        return
    for key, item in items:
        _add(pairs, f"{name}%5B{_encode(str(key))}%5D", item)


def _scalar(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | str):
        return str(value)
    if isinstance(value, float):
        return repr(value).removesuffix(".0")  # PHP writes 2.0 as "2", 0.5 as "0.5"
    raise TypeError(f"cannot put {type(value).__name__} in a query ({name})")


def _encode(text: str) -> str:
    """PHP `urlencode`: only letters, digits and `-_.` stay; Python would also keep `~`."""
    return quote_plus(text, safe="").replace("~", "%7E")
