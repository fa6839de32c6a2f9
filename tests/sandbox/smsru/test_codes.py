"""The emulator's status texts: the reference's wording, and the recorded one where it differs."""

from __future__ import annotations

import json

from support import RECORDED

from sandbox.smsru.codes import TEXTS, status_text


def test_texts_for_the_codes_the_emulator_answers() -> None:
    assert status_text(103) == "Сообщение доставлено"
    assert status_text(102) == "Сообщение отправлено (в пути)"
    assert status_text(104) == "Не может быть доставлено: время жизни истекло"
    assert status_text(205) == "Сообщение слишком длинное (превышает 8 СМС)"
    assert status_text(200) == "Неправильный api_id"


def test_recorded_texts_win() -> None:
    unknown = json.loads((RECORDED / "smsru" / "status.json").read_text())
    [entry] = unknown["interactions"][0]["response"]["body_json"]["sms"].values()
    assert status_text(entry["status_code"]) == entry["status_text"]
    single = json.loads((RECORDED / "smsru" / "deliver_single.json").read_text())
    [entry] = single["interactions"][0]["response"]["body_json"]["sms"].values()
    assert entry["status_code"] == 221
    assert status_text(221) == entry["status_text"]


def test_every_code_of_the_reference_has_a_text_and_others_get_one() -> None:
    documented = {-1, *range(100, 109), 110, 150, *range(200, 218), 220, 221, *range(230, 234)}
    documented |= {*range(300, 306), 500, *range(501, 509), 550, 901, 902}
    assert documented <= set(TEXTS)
    assert "999" in status_text(999)
