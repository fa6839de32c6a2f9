"""Broadcast validation's shared test material: the text, the SMS.ru key, the CSVs it writes, and
the one thing it must never do (send)."""

from __future__ import annotations

import csv
from pathlib import Path

from pydantic import SecretStr

from sandbox.smsru import SmsRuEmulator
from smsbridge.config import Settings
from support.identities import SMSRU_KEY

TEXT = "Скидка 20% на всё до воскресенья!"


def sent_nothing(smsru: SmsRuEmulator) -> bool:
    return not [r for r in smsru.requests if r.path == "/sms/send"]


def with_key(settings: Settings) -> Settings:
    return settings.model_copy(update={"smsru_api_id": SecretStr(SMSRU_KEY)})


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as file:
        return list(csv.DictReader(file))
