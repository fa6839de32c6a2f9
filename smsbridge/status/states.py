"""The life of a message, in one place: our states, their order, and what Bitrix24 is told.

A status only ever moves forward: SMS.ru callbacks and polls arrive late, twice and out of order,
and Bitrix24 applies whatever it is sent last, so the order is ours to keep.
"""

from __future__ import annotations

from enum import StrEnum

from clients.smsru.codes import Outcome, classify


class State(StrEnum):
    QUEUED = "queued"  # committed by the handler, waiting for (another) send attempt
    SENDING = "sending"  # claimed by a sender; the SMS.ru call may be in flight
    SENT = "sent"  # SMS.ru accepted it and gave an sms_id (codes 100, 101)
    IN_TRANSIT = "in_transit"  # handed to the operator (102)
    DELIVERED = "delivered"  # 103 (or 110, read)
    UNDELIVERED = "undelivered"  # 104–108, 150
    FAILED = "failed"  # refused at send time, or its send outcome is unknowable (see architecture)


FINAL = frozenset({State.DELIVERED, State.UNDELIVERED, State.FAILED})
# Not final yet: still to be sent, or on its way.
PENDING = frozenset({State.QUEUED, State.SENDING, State.SENT, State.IN_TRANSIT})
# Accepted by SMS.ru (it gave an sms_id), whatever became of the message since: what is polled,
# what the daily report counts as sent, what sets a robot's sent flag.
ACCEPTED = frozenset({State.SENT, State.IN_TRANSIT, State.DELIVERED, State.UNDELIVERED})
# What Bitrix24 is told. It marks every message `sent` itself the moment it hands it to us, so
# pushing `queued`/`sent` would cost rate budget (2 requests/s per portal) to say nothing new.
PUSHED = FINAL

_RANK = {
    State.QUEUED: 0,
    State.SENDING: 1,
    State.SENT: 2,
    State.IN_TRANSIT: 3,
    State.DELIVERED: 4,
    State.UNDELIVERED: 4,
    State.FAILED: 4,
}

BITRIX24_STATUS = {
    State.QUEUED: "queued",
    State.SENDING: "queued",
    State.SENT: "sent",
    State.IN_TRANSIT: "sent",
    State.DELIVERED: "delivered",
    State.UNDELIVERED: "undelivered",
    State.FAILED: "failed",
}
# What a portal shows once a message is final, in the order of `State`.
FINAL_BITRIX24_STATUSES = tuple(BITRIX24_STATUS[state] for state in State if state in FINAL)


def moves_forward(current: State, new: State) -> bool:
    """True if `new` is news: later than `current`. A final state never changes."""
    return current not in FINAL and _RANK[new] > _RANK[current]


def state_for_status_code(code: int) -> State | None:
    """The state an SMS.ru message status code reports; None for codes that report no state."""
    if code == 102:
        return State.IN_TRANSIT
    return {
        Outcome.PENDING: State.SENT,
        Outcome.DELIVERED: State.DELIVERED,
        Outcome.UNDELIVERED: State.UNDELIVERED,
    }.get(classify(code))
