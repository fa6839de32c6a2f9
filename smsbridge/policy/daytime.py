"""How a kind of message is handed to SMS.ru: marketing in the recipient's daytime, codes fresh.

Marketing goes with `daytime=1` (SMS.ru holds it from 20:00 to 10:00 recipient time) unless the
portal turned that off; transactional never waits for daytime — a code at 3 a.m. is wanted — but
may carry the portal's `ttl`, since a code that arrives hours late is worse than none.
"""

from __future__ import annotations

from dataclasses import dataclass

from models import Portal
from smsbridge.rules.origin import Kind


@dataclass(frozen=True, slots=True)
class Delivery:
    daytime: bool = False
    ttl: int | None = None  # minutes, 1..1440


def delivery_for(portal: Portal, kind: str) -> Delivery:
    if kind == Kind.MARKETING:
        return Delivery(daytime=portal.marketing_daytime)
    return Delivery(ttl=portal.transactional_ttl)
