"""What the policy refuses before a claimed message reaches SMS.ru, and why, in plain words.

Marketing never goes to a number on the portal's stop list, nor, with consent required, to a
number without consent; transactional messages ignore both (unless the portal puts its stop list
on them too). A robot that fires again (a stage rolled back) is refused the same text to the same
number about the same CRM item within the portal's duplicate window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Consent, Message, Portal
from smsbridge.policy import stop_list
from smsbridge.rules.origin import Kind, Source
from smsbridge.rules.said import Said
from smsbridge.status.failures import Failure
from smsbridge.status.states import State

CONSENT_REQUIRED = "required"
CONSENT_OFF = "off"


class Outgoing(Protocol):
    """What the checks read of a claimed message."""

    @property
    def pk(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def e164(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def entity_type(self) -> str | None: ...
    @property
    def entity_id(self) -> int | None: ...
    @property
    def accepted_at(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class Refusal:
    failure: Failure
    # For people: the message's error in English (reports, logs); the comment on the CRM item's
    # timeline in the portal's language (`comment`).
    reason: Said

    def comment(self, e164: str, language: str) -> str:
        """The timeline comment a manager of a portal writing in `language` reads."""
        if language == "ru":
            return f"SMS на {e164} {self.reason.ru}"
        return f"SMS to {e164} {self.reason.en}"


async def refusals(
    session: AsyncSession, portal: Portal, messages: Sequence[Outgoing]
) -> dict[int, Refusal]:
    """The refused among `messages` (by pk), each with why; the rest may be sent."""
    assert portal.id is not None
    refused: dict[int, Refusal] = {}
    checked = [m for m in messages if m.kind == Kind.MARKETING or portal.transactional_stop_list]
    stopped = await stop_list.listed(session, portal.id, {m.e164 for m in checked})
    for message in checked:
        if message.e164 in stopped:
            why = f" ({stopped[message.e164]})" if stopped[message.e164] else ""
            refused[message.pk] = Refusal(
                Failure.STOP_LISTED,
                Said(
                    f"not sent: {message.e164} is on the stop list{why}; the recipient opted out",
                    f"не отправлено: номер в стоп-листе{why}, получатель отказался от рассылок",
                ),
            )
    marketing = [m for m in messages if m.kind == Kind.MARKETING and m.pk not in refused]
    if marketing and portal.marketing_consent == CONSENT_REQUIRED:
        consenting = await _consenting(session, portal.id, {m.e164 for m in marketing})
        for message in marketing:
            if message.e164 not in consenting:
                refused[message.pk] = Refusal(
                    Failure.NO_CONSENT,
                    Said(
                        f"not sent: no consent to marketing from {message.e164} "
                        "(UF_CRM_SMS_CONSENT is empty on every contact and lead with this number)",
                        "не отправлено: нет согласия на рекламу (поле UF_CRM_SMS_CONSENT пусто "
                        "у всех контактов и лидов с этим номером)",
                    ),
                )
    robots = [m for m in messages if _guarded(m, portal) and m.pk not in refused]
    for message in robots:
        if await _repeat_of(session, portal, message):
            minutes = portal.duplicate_window // 60 or 1
            refused[message.pk] = Refusal(
                Failure.DUPLICATE,
                Said(
                    f"not sent: the same text went to {message.e164} for this item less than "
                    f"{minutes} min ago (the robot fired again)",
                    f"не отправлено: тот же текст ушёл на этот номер по этой записи меньше "
                    f"{minutes} мин назад (робот сработал повторно)",
                ),
            )
    return refused


def _guarded(message: Outgoing, portal: Portal) -> bool:
    return (
        portal.duplicate_window > 0
        and message.source == Source.ROBOT
        and message.entity_id is not None
    )


async def _consenting(session: AsyncSession, portal_id: int, phones: set[str]) -> set[str]:
    found: set[str] = set()
    ordered = sorted(phones)
    for start in range(0, len(ordered), stop_list.CHUNK):
        chunk = ordered[start : start + stop_list.CHUNK]
        rows = await session.exec(
            select(Consent.phone).where(
                col(Consent.portal_id) == portal_id, col(Consent.phone).in_(chunk)
            )
        )
        found.update(rows)
    return found


async def _repeat_of(session: AsyncSession, portal: Portal, message: Outgoing) -> bool:
    """An earlier message, not failed, of the same text, number and CRM item, in the window."""
    since = message.accepted_at - timedelta(seconds=portal.duplicate_window)
    earlier = await session.exec(
        select(Message.id)
        .where(
            col(Message.portal_id) == portal.id,
            col(Message.recipient) == message.e164,
            col(Message.id) < message.pk,
            col(Message.accepted_at) >= since,
            col(Message.entity_type) == message.entity_type,
            col(Message.entity_id) == message.entity_id,
            col(Message.state) != State.FAILED,
        )
        .where(col(Message.text) == message.text)
        .limit(1)
    )
    return earlier.first() is not None
