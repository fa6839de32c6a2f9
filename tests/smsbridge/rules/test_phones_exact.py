"""Numbers read exactly: tricky values real CRMs hold, and what each must come to.

A value that carries anything beyond one number is not a number: nothing is sent to it and
normalization leaves it as it is, listed with the reason (rewriting it would lose the extension,
the note or the second number for good).
"""

from __future__ import annotations

import pytest

from smsbridge.normalize.plan import PhoneNormalizer
from smsbridge.rules.phones import PhoneError, to_e164

VALUES = [
    # (as the CRM holds it, E.164 or the reason it is left alone)
    ("+7 (916) 123-45-67", "+79161234567"),
    ("8 916 123 45 67", "+79161234567"),
    ("79161234567", "+79161234567"),
    ("  +7-916-123-45-67  ", "+79161234567"),
    ("+7999abc1234", "has letters: not a phone number"),
    ("+7 916 CALL-NOW", "has letters: not a phone number"),
    ("+79161234567 доб. 12", "has an extension"),
    ("8 (916) 123-45-67 ext 5", "has an extension"),
    ("+79161234567 x12", "has an extension"),
    ("+79161234567 (Иван, после 18:00)", "has letters: not a phone number"),
    ("+79161234567 мобильный", "has letters: not a phone number"),
    ("+79161234567, +79167654321", "holds more than one number"),
    ("+79161234567; 89167654321", "holds more than one number"),
    ("+79161234567 / 84951234567", "holds more than one number"),
    ("+79161234567 +79167654321", "holds more than one number"),
    ("не звонить", "not a phone number"),
    ("", "not a phone number"),
]


@pytest.mark.parametrize(("raw", "expected"), VALUES)
def test_each_value_is_read_exactly(raw: str, expected: str) -> None:
    if expected.startswith("+"):
        assert to_e164(raw) == expected
    else:
        with pytest.raises(PhoneError) as caught:
            to_e164(raw)
        assert caught.value.reason == expected


def test_normalization_leaves_what_it_cannot_read_exactly_and_lists_it() -> None:
    items = [
        {"ID": str(n), "VALUE": raw, "VALUE_TYPE": "WORK"} for n, (raw, _) in enumerate(VALUES)
    ]
    plan = PhoneNormalizer().plan(items)
    left = {u.value: u.reason for u in plan.unparseable}
    for raw, expected in VALUES:
        if expected.startswith("+"):
            assert raw not in left
        else:
            assert left[raw] == expected
    assert not {c.item_id for c in plan.changes} & {u.item_id for u in plan.unparseable}
