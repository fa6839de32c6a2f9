"""Grouping claimed messages into SMS.ru calls.

One `/sms/send` carries at most 100 numbers, and its reply is keyed by number, so one call never
holds the same number twice (a second text to a number waits for the next call).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

MAX_NUMBERS_PER_CALL = 100


@dataclass(frozen=True, slots=True)
class Claimed:
    """A message claimed for sending: what the sender needs, nothing more."""

    pk: int
    portal_id: int
    message_id: str
    number: str  # as SMS.ru takes it: international digits, no plus
    text: str
    kind: str
    attempts: int
    accepted_at: datetime


def plan_calls(messages: Sequence[Claimed]) -> list[list[Claimed]]:
    calls: list[list[Claimed]] = []
    numbers: list[set[str]] = []
    for message in messages:
        for call, taken in zip(calls, numbers, strict=True):
            if len(call) < MAX_NUMBERS_PER_CALL and message.number not in taken:
                call.append(message)
                taken.add(message.number)
                break
        else:
            calls.append([message])
            numbers.append({message.number})
    return calls
