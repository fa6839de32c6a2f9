"""Who the tests are: the webhook secret, the SMS.ru key, the portal's identity, and where the
recorded API payloads live."""

from __future__ import annotations

from pathlib import Path

from clients.smsru.callbacks import signed_form

RECORDED = Path(__file__).resolve().parents[1] / "recorded"  # real API payloads; see its README
SECRET = "test-webhook-secret-0123456789"
SMSRU_KEY = "test-smsru-key-AAAA-1111"
MEMBER_ID = "a223c6b3710f85df22e9377d6c4f7553"
APPLICATION_TOKEN = "51856fefc120afa4b628cc82d3935cce"


def signed_callback(records: list[str], key: str = SMSRU_KEY) -> dict[str, str]:
    """The form SMS.ru POSTs, signed with the tests' key unless told otherwise."""
    return signed_form(key, records)
