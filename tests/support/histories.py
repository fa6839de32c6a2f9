"""What a portal was told about messages, in the form a failing assertion can show."""

from __future__ import annotations

from collections.abc import Iterable

from sandbox.bitrix24.portal import PortalEmulator


def told_otherwise(
    bitrix24: PortalEmulator, message_ids: Iterable[str], status: str = "delivered"
) -> dict[str, list[str] | None]:
    """message_id → every status the portal was told, for each message not told `status` once
    and nothing else: empty when all is as it should be."""
    history = bitrix24.status_history
    return {m: history.get(m) for m in message_ids if history.get(m) != [status]}
