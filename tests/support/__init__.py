"""What tests share besides fixtures (`from support import …`; `tests/` is on the path).

The rest is imported by module: `support.rows` (rows written straight into the database, async
sessions on it), `support.fault_processes` (the webhook as a real process), `support.crm_phones`
(a messy CRM for phone normalization), `support.broadcasts` (broadcast validation's material),
`support.histories` (what a portal was told, as a failing assertion shows it), `support.options`
(the in-process workers' options), `support.polling`, `support.databases`, `support.flow_runs`;
`refresh_race.py` is run as a subprocess by the token-refresh race test.
"""

from support.identities import (
    APPLICATION_TOKEN,
    MEMBER_ID,
    RECORDED,
    SECRET,
    SMSRU_KEY,
    signed_callback,
)
from support.waiting import wait_for
from support.webhook_handle import Webhook

__all__ = [
    "APPLICATION_TOKEN",
    "MEMBER_ID",
    "RECORDED",
    "SECRET",
    "SMSRU_KEY",
    "Webhook",
    "signed_callback",
    "wait_for",
]
