"""Taking a portal's own SMS.ru key into use: check it, and make its account call us back.

A wrong key is refused before it is stored, with SMS.ru's reason; a good one gets our callback
URL registered on its account, so its statuses come back (and only its messages move by them).
"""

from __future__ import annotations

from clients.smsru.client import SmsRuClient
from smsbridge.logs import register_secret
from smsbridge.portals.registration import ensure_callback
from smsbridge.runtime import Runtime
from smsbridge.secret import resolve_webhook_secret


async def adopt_key(rt: Runtime, api_id: str) -> str:
    """Check `api_id` with SMS.ru and register our callback on its account: added | already
    registered. Raises `SmsRuApiError` for a key SMS.ru refuses, `SmsRuUnavailable` when SMS.ru
    cannot be asked."""
    register_secret(api_id)
    client = SmsRuClient(api_id, base_url=rt.settings.smsru_base, http=rt.http)
    await client.check_auth()
    secret = await resolve_webhook_secret(rt.settings, rt.sessions)
    return await ensure_callback(client, rt.settings, secret)
