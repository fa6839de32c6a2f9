"""When to ask SMS.ru for a message's status, in case its callback never comes.

30 s after sending, then 1, 2, 4 … minutes, at most every 30 minutes, and not past the message's
lifetime: operators drop undeliverable messages within a day or two (SMS.ru's `ttl` is at most
24 hours), after which SMS.ru has nothing new to say.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from clients.backoff import backoff

FIRST_POLL = timedelta(seconds=30)
POLL_CAP = timedelta(minutes=30)
LIFETIME = timedelta(hours=72)
# A message made final by a callback is polled once more, for its price (callbacks carry none).
COST_POLL = timedelta(seconds=30)


def next_poll_at(sent_at: datetime, polls: int, now: datetime) -> datetime | None:
    """After `polls` polls, when to poll next; None once the message has outlived polling."""
    delay = timedelta(
        seconds=backoff(polls + 1, FIRST_POLL.total_seconds(), POLL_CAP.total_seconds())
    )
    moment = now + delay
    return moment if moment - sent_at <= LIFETIME else None
