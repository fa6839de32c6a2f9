"""What becomes of messages in the sandbox's SMS.ru: a few fail, as on the real network.

- Statuses come within seconds (DELAYS), not instantly.
- Russian landlines (+7 3xx, 4xx, 8xx) are refused at send with code 207 ("no route"), as
  SMS.ru refuses them.
- Of mobiles, about 1 in 12 is not delivered, with the final codes SMS.ru really gives
  (104 expired, 106 phone failure, 107 unknown, 108 rejected, 150 no route); chosen by the number,
  so the same number always ends the same way (+79255070602 is delivered).
Tests get the plain emulator, where everything is delivered unless a test says otherwise.
"""

from __future__ import annotations

import zlib

from sandbox.smsru.state import SmsRuEmulator

NO_ROUTE = 207
UNDELIVERED = (104, 106, 107, 108, 150)
ONE_IN = 12
# Seconds from send to 101, 102 and the final status: quick enough to watch, and (unlike the
# tests' 0.05 s) not quicker than the send's own commit on a loaded machine.
DELAYS = (0.3, 0.8, 1.5)


def refusal(digits: str) -> int | None:
    """SMS.ru's code for refusing `digits` at send, or None when it takes it."""
    if digits.startswith("7") and len(digits) == 11 and digits[1] in "348":
        return NO_ROUTE
    return None


def final_status(digits: str) -> int:
    """The final status a message to `digits` reaches."""
    bucket = zlib.crc32(digits.encode())
    if bucket % ONE_IN == 0:
        return UNDELIVERED[(bucket // ONE_IN) % len(UNDELIVERED)]
    return 103


def realistic(emulator: SmsRuEmulator) -> SmsRuEmulator:
    emulator.delays = DELAYS
    emulator.refusal = refusal
    emulator.final_status = final_status
    return emulator
