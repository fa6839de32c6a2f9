"""The account's own stop list, as SMS.ru serves it: `/stoplist/add|del|get` (reference §6, C).

`get` maps number → note; `add` takes `stoplist_phone` and `stoplist_text`; a malformed number is
refused with 202, as the Java client's javadoc says the live API does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sandbox.smsru.state import Reply, SmsRuEmulator, error, ok

_PHONE = re.compile(r"\+?\d{10,15}")


def stoplist_add(emulator: SmsRuEmulator, api_id: str, params: Mapping[str, str]) -> Reply:
    phone = params.get("stoplist_phone", "").strip()
    if not _PHONE.fullmatch(phone):
        return error(202)
    emulator.add_to_stoplist(api_id, phone, params.get("stoplist_text", ""))
    return ok()


def stoplist_del(emulator: SmsRuEmulator, api_id: str, params: Mapping[str, str]) -> Reply:
    phone = params.get("stoplist_phone", "").strip()
    if not _PHONE.fullmatch(phone):
        return error(202)
    emulator.remove_from_stoplist(api_id, phone)
    return ok()


def stoplist_get(emulator: SmsRuEmulator, api_id: str, _: Mapping[str, str]) -> Reply:
    return ok(stoplist=emulator.stoplist_of(api_id))
