"""Capped exponential backoff: how long to wait after a failed attempt before the next one.

Every retry loop of the project waits by this one rule: `base` after the first failure, doubling
after each further one, never more than `cap`. `jitter` spreads a delay by up to that fraction
either way, so that many items failing together do not all come back at the same moment.
"""

from __future__ import annotations

import math
import random


def backoff(attempt: int, base: float, cap: float, jitter: float = 0.0) -> float:
    """Seconds to wait after failed attempt number `attempt` (1 for the first):
    `min(cap, base·2^(attempt-1))`, times a random factor within `1 ± jitter`."""
    if attempt < 1:
        raise ValueError(f"attempt counts from 1, not {attempt}")
    if not 0.0 <= jitter < 1.0:
        raise ValueError(f"jitter must be in [0, 1), not {jitter}")
    try:
        grown = base * 2.0 ** (attempt - 1)
    except OverflowError:  # far past any cap: 2.0 ** 1024 is not a float
        grown = math.inf
    delay = min(cap, grown)
    return delay * random.uniform(1.0 - jitter, 1.0 + jitter) if jitter else delay
