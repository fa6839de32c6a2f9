"""Grouping claimed messages into SMS.ru calls.

One `/sms/send` carries at most 100 numbers, and its reply is keyed by number, so one call never
holds the same number twice (a second text to a number waits for the next call).
"""

from __future__ import annotations

from collections.abc import Sequence

from clients.smsru.client import MAX_PER_REQUEST
from webhook.outbox import Claimed

MAX_NUMBERS_PER_CALL = MAX_PER_REQUEST  # one /sms/send carries this many numbers at most


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
