"""The callback POST the emulator makes: its records, their signature and the form around them.

Written from `shared/reference/smsru-api.md` §5 (the official sample handler), not from the
product's client, so that a wrong formula on either side shows: each `data[i]` is one record of
newline-joined lines, and `hash` is the hex SHA-256 of the api_id followed by every `data[i]` in
the order of i.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def sms_status_record(sms_id: str, code: int, at: int) -> str:
    """`sms_status`, the sms_id, the status code and the Unix time it was reached."""
    return "\n".join(("sms_status", sms_id, str(code), str(at)))


def heartbeat_record(at: int) -> str:
    """The `test` record SMS.ru sends when it checks a handler (two lines, no id)."""
    return "\n".join(("test", str(at)))


def signature(api_id: str, records: Sequence[str]) -> str:
    digest = hashlib.sha256(api_id.encode("utf-8"))
    for record in records:
        digest.update(record.encode("utf-8"))
    return digest.hexdigest()


def callback_form(records: Sequence[str], hash_: str) -> dict[str, str]:
    """`data[0]`…`data[n]` in order, then `hash`, as the POST's form fields."""
    form = {f"data[{index}]": record for index, record in enumerate(records)}
    form["hash"] = hash_
    return form
