"""Exceptions of the SMS.ru client.

Two kinds, because the caller must act differently: an `SmsRuApiError` is SMS.ru's own answer
(its code says what to do, see `codes.classify`); an `SmsRuUnavailable` means there is no usable
answer, and `maybe_processed` says whether resending could duplicate a message.
No message here ever contains the api_id: the client scrubs it before building one.
"""

from __future__ import annotations

from clients.smsru.codes import Outcome, classify


class SmsRuError(Exception):
    """Base of every SMS.ru client error."""


class SmsRuApiError(SmsRuError):
    """SMS.ru answered, and the whole request failed (top-level `"status": "ERROR"`)."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"SMS.ru error {code}: {text}")
        self.code = code
        self.text = text

    @property
    def outcome(self) -> Outcome:
        return classify(self.code)


class SmsRuUnavailable(SmsRuError):
    """No usable reply from SMS.ru.

    `maybe_processed` is False only when the request certainly did not take effect (it never
    reached SMS.ru, or SMS.ru's front said it failed); True when it may have been processed and
    we just did not get the answer, so a blind resend could send the message twice.
    """

    def __init__(self, reason: str, *, maybe_processed: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.maybe_processed = maybe_processed
