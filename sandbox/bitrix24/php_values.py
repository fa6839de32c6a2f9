"""PHP's reading of a parameter: what counts as empty, as a string, as a number, as a list.

REST parameters arrive as strings and nested groups from a form, or as any JSON value; the portal
reads each through PHP's loose rules, so the emulator does too.
"""

from __future__ import annotations

import math
import re
from typing import Any

_INT = re.compile(r"\s*([+-]?\d+)")


def php_empty(value: Any) -> bool:
    """PHP's empty(): null, false, 0, "", "0" and empty arrays."""
    if value is None or value is False:
        return True
    if isinstance(value, str):
        return value in ("", "0")
    if isinstance(value, int | float):
        return value == 0
    if isinstance(value, dict | list):
        return not value
    return False


def strval(value: Any) -> str:
    """A scalar as PHP would print it; arrays and null give ""."""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, str | int):
        return str(value)
    return ""


def intval(value: Any) -> int:
    """PHP's intval() of a parameter: leading digits, else 0; an array is 1 unless empty."""
    if is_group(value):
        return 1 if value else 0
    if isinstance(value, float):  # truncated; NaN, infinities and what overflows give 0
        return int(value) if math.isfinite(value) and abs(value) < 2.0**63 else 0
    match = _INT.match(strval(value))
    return int(match.group(1)) if match else 0


def _float_text(value: float) -> str:
    """(string) of a float: 14 significant digits (`precision`), "1.0E+25" past them."""
    if math.isnan(value) or math.isinf(value):
        return "NAN" if math.isnan(value) else ("-INF" if value < 0 else "INF")
    text = format(value, ".14G")
    mantissa, _, exponent = text.partition("E")
    if not exponent:
        return text
    if "." not in mantissa:
        mantissa += ".0"
    return f"{mantissa}E{exponent[0]}{int(exponent[1:])}"


def is_group(value: Any) -> bool:
    """An array in PHP's sense: a JSON list or object, or a form group."""
    return isinstance(value, dict | list)


def entries(value: Any) -> list[Any]:
    """A JSON list, or a form group (keys 0..n, or any keys) in order; anything else is empty."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return list(value.values())
    return []
