"""Why a message failed, as a kind stored with it (`messages.failure`) where it fails.

Intake fails what cannot be sent; the sender fails what SMS.ru refused or what it cannot know
the outcome of. Each writes the kind beside its error text, so that the report and anyone
querying the table read the kind, and the text (for people) may be reworded freely. Set exactly
when the state is `failed`; an undelivered message is SMS.ru's verdict, told by its status code.
"""

from __future__ import annotations

from enum import StrEnum

from smsbridge.rules.segments import MAX_SEGMENTS


class Failure(StrEnum):
    INVALID_NUMBER = "invalid_number"  # intake: message_to is not a phone number
    EMPTY_TEXT = "empty_text"  # intake: nothing to send
    TOO_LONG = "too_long"  # intake: more SMS than SMS.ru sends in one message
    INTERRUPTED = "interrupted"  # the send's outcome is unknowable; not resent
    GAVE_UP = "gave_up"  # SMS.ru could not take it for too long (the sender's give_up_after)
    NO_RESULT = "no_result"  # SMS.ru's reply said nothing of this number; not resent
    REFUSED = "refused"  # SMS.ru refused it at send time: its code is the send_code
    # Refusals by the message policy (smsbridge.policy), before SMS.ru, or SMS.ru's own of the
    # same meaning (209/215 stop lists, 230–232 frequency: the send_code then says which).
    STOP_LISTED = "stop_listed"  # marketing to a number on the portal's (or SMS.ru's) stop list
    NO_CONSENT = "no_consent"  # marketing to a number without consent, with consent required
    DUPLICATE = "duplicate"  # a robot's same text to the same number and CRM item, again
    TOO_FREQUENT = "too_frequent"  # SMS.ru's per-number frequency limits (230, 231, 232)


# What each kind means, in a few words (a report's label; a refusal shows its SMS.ru code's).
DESCRIPTION = {
    Failure.INVALID_NUMBER: "invalid phone number",
    Failure.EMPTY_TEXT: "empty text",
    Failure.TOO_LONG: f"text longer than {MAX_SEGMENTS} SMS",
    Failure.INTERRUPTED: "send interrupted, outcome unknown",
    Failure.GAVE_UP: "SMS.ru unavailable for too long",
    Failure.NO_RESULT: "no result in SMS.ru's reply",
    Failure.REFUSED: "refused by SMS.ru",
    Failure.STOP_LISTED: "number on the stop list",
    Failure.NO_CONSENT: "no consent to marketing",
    Failure.DUPLICATE: "duplicate of a recent message",
    Failure.TOO_FREQUENT: "too many messages to the number",
}

# The kinds the message policy refuses with: refusals, as the report and /metrics count them.
POLICY = frozenset(
    {Failure.STOP_LISTED, Failure.NO_CONSENT, Failure.DUPLICATE, Failure.TOO_FREQUENT}
)
