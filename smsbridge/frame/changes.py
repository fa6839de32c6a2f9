"""What an admin changes on the app's page: the SMS.ru account, test mode, the message policy.

Each change is checked before it is stored and refused with a sentence otherwise: a key SMS.ru
does not accept is not saved (the old one stays), a sender name must be one the account has
approved, and the policy's numbers must be in range. Only the admin's page calls these.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from clients.smsru.errors import SmsRuApiError, SmsRuError
from models import Portal
from models.types import utcnow
from smsbridge.config import Settings
from smsbridge.frame.refusal import Refusal
from smsbridge.policy.refusals import CONSENT_REQUIRED
from smsbridge.portals.registration import ensure_callback
from smsbridge.portals.retired_keys import retire_replaced_key
from smsbridge.portals.smsru import NoSmsRuKey, smsru_client, smsru_client_for

MAX_KEY = 255  # the column's length
# Test mode as the page offers it: follow SMSRU_TEST, or the portal's own on/off.
TEST_MODES: dict[str, bool | None] = {"service": None, "on": True, "off": False}


class ChangeRefused(Refusal):
    """The change is not stored; the reasons say why, in the page's language."""


async def store(session: AsyncSession, portal: Portal, values: Mapping[str, object]) -> None:
    """Write `values` on the portal's row (committed) and on `portal`."""
    await session.execute(
        update(Portal).where(col(Portal.id) == portal.id).values(**values, updated_at=utcnow())
    )
    await session.commit()
    for name, value in values.items():
        setattr(portal, name, value)


async def change_key(
    session: AsyncSession,
    http: httpx.AsyncClient,
    settings: Settings,
    portal: Portal,
    key: str,
    master: str,
) -> None:
    """Store the portal's own SMS.ru key once SMS.ru accepts it (`/auth/check`), and make SMS.ru
    call us back for that account too. An empty key goes back to `SMSRU_API_ID`. The key it
    replaces is kept while messages sent with it may still change (`portals.retired_keys`)."""
    key = key.strip()
    if not key:
        await retire_replaced_key(session, portal, None)
        await store(session, portal, {"smsru_api_id": None})
        return
    if len(key) > MAX_KEY or not key.isascii() or not key.isprintable():
        raise ChangeRefused("key_characters")
    client = smsru_client(key, settings, http)
    try:
        await client.check_auth()
        await ensure_callback(client, settings, master)
    except SmsRuApiError as exc:
        raise ChangeRefused("key_refused", reason=exc.text) from None
    except SmsRuError:
        raise ChangeRefused("key_unreachable") from None
    await retire_replaced_key(session, portal, key)
    await store(session, portal, {"smsru_api_id": key})


async def change_sender(
    session: AsyncSession,
    http: httpx.AsyncClient,
    settings: Settings,
    portal: Portal,
    sender: str,
) -> None:
    """The sender name (`from`), one of the account's approved ones; empty: the account's
    default."""
    sender = sender.strip()
    if sender:
        try:
            approved = await smsru_client_for(portal, settings, http).senders()
        except NoSmsRuKey:
            raise ChangeRefused("no_key") from None
        except SmsRuError:
            raise ChangeRefused("sender_unreachable") from None
        if sender not in approved:
            raise ChangeRefused("sender_unknown", sender=sender[:64])
    await store(session, portal, {"smsru_sender": sender or None})


async def change_test_mode(session: AsyncSession, portal: Portal, mode: str) -> None:
    if mode not in TEST_MODES:
        raise ChangeRefused("test_mode", modes=", ".join(TEST_MODES))
    await store(session, portal, {"smsru_test": TEST_MODES[mode]})


def read_policy(form: Mapping[str, str]) -> dict[str, object]:
    """The policy columns from the page's form (a checkbox is present or absent), checked;
    `ChangeRefused` names every field that is wrong."""
    problems: list[Refusal] = []

    def number(name: str, low: int, high: int) -> int:
        text = form.get(name, "").strip()
        if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
            problems.append(Refusal("range", field=name, low=low, high=high))
            return low
        return int(text)

    consent = form.get("marketing_consent", "")
    if consent not in (CONSENT_REQUIRED, "off"):
        problems.append(Refusal("consent"))
    values: dict[str, object] = {
        "marketing_consent": consent,
        "marketing_daytime": "marketing_daytime" in form,
        "marketing_pace": number("marketing_pace", 1, 100_000),
        "transactional_ttl": number("transactional_ttl", 0, 1440) or None,
        "transactional_stop_list": "transactional_stop_list" in form,
        "duplicate_window": number("duplicate_window", 0, 86_400),
    }
    if problems:
        raise ChangeRefused.of(problems)
    return values
