"""The policy form of the app's page: in range, or refused with every problem named."""

from __future__ import annotations

import pytest

from smsbridge.frame.changes import ChangeRefused, read_policy

GOOD = {
    "marketing_consent": "required",
    "marketing_daytime": "on",
    "marketing_pace": "120",
    "transactional_ttl": "0",
    "duplicate_window": "600",
}


def test_a_good_form_gives_the_columns() -> None:
    assert read_policy(GOOD) == {
        "marketing_consent": "required",
        "marketing_daytime": True,
        "marketing_pace": 120,
        "transactional_ttl": None,  # 0: no ttl
        "transactional_stop_list": False,  # an unticked box is absent
        "duplicate_window": 600,
    }


def test_every_wrong_field_is_named() -> None:
    wrong = GOOD | {"marketing_consent": "maybe", "marketing_pace": "-1", "duplicate_window": "1e3"}
    with pytest.raises(ChangeRefused) as refused:
        read_policy(wrong)
    text = str(refused.value)
    assert "marketing consent must be" in text
    assert "marketing pace must be a whole number from 1 to 100000" in text
    assert "duplicate window must be a whole number from 0 to 86400" in text
    russian = refused.value.words("ru")  # as the page shows it by default
    assert "темп рекламной рассылки: целое число от 1 до 100000" in russian
    assert "окно защиты от повторов: целое число от 0 до 86400" in russian
    assert "согласие на рекламу" in russian
    with pytest.raises(ChangeRefused, match="transactional ttl"):
        read_policy(GOOD | {"transactional_ttl": "1441"})
