"""Worker options for tests: quick enough to retry within a test, idle enough to leave the machine
to the other tests.

An idle worker looks at the database every `idle_poll` seconds. A webhook with 0.05 s burned half
a core while it waited (its eight worker tasks looking twenty times a second), 0.25 s a quarter of
that (`IDLE_POLL`). Intake and callbacks wake the workers at once, so only timers (a retry's
backoff, a pause running out) wait for the next look.
"""

from __future__ import annotations

from webhook.pusher import PusherOptions
from webhook.sender import SenderOptions

IDLE_POLL = 0.25
FAST = SenderOptions(workers=4, idle_poll=IDLE_POLL, backoff_base=0.05, backoff_cap=0.2, pause=0.3)
FAST_PUSH = PusherOptions(idle_poll=IDLE_POLL, backoff=0.05, backoff_cap=0.2)
