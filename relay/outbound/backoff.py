"""When to try a deferred delivery again: jittered exponential backoff, in the spirit of Postfix.

Pure: the caller passes the attempt count, the clock's now and a jitter
value in [0, 1), so tests know exactly when the next try is due.

Defaults: the first retry comes 4 to 5 minutes after the first failure
(Postfix's minimal_backoff_time is 300 s), each wait then doubles (5, 10,
20, 40 minutes) and never exceeds one hour (Postfix's maximal_backoff_time
is 4000 s). Jitter only shortens a wait, by up to a fifth, so a burst of
failures does not retry in lockstep and no wait is longer than the cap.
The queue lifetime (5 days for forwards, 2 for notices) is fixed when a
delivery is queued; the last try is made at the end of it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

FIRST_RETRY = timedelta(minutes=5)
MAX_INTERVAL = timedelta(minutes=60)
JITTER = 0.2  # a wait is shortened by up to 20%


def retry_interval(attempts: int, jitter: float) -> timedelta:
    """The wait after the ``attempts``-th failed attempt (1 = the first failure)."""
    doublings = min(max(0, attempts - 1), 16)  # 2**16 * 5 min is far past the cap already
    base = min(FIRST_RETRY * (2**doublings), MAX_INTERVAL)
    factor = 1 - JITTER * min(max(jitter, 0.0), 1.0)
    return timedelta(seconds=base.total_seconds() * factor)


def next_attempt(attempts: int, now: datetime, expires_at: datetime, jitter: float) -> datetime | None:
    """When to try again, or None when the queue lifetime has run out.

    A wait that would end past the lifetime is cut short, so the last try
    happens when the lifetime ends and a delivery fails at that try, not
    silently between tries.
    """
    if now >= expires_at:
        return None
    return min(now + retry_interval(attempts, jitter), expires_at)
