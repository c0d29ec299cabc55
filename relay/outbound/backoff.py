"""When to try a deferred delivery again: jittered exponential backoff, in the spirit of Postfix.

Pure: the caller passes the attempt count, the clock's now and a jitter
value in [0, 1), so tests know exactly when the next try is due.
"""

from __future__ import annotations

from datetime import datetime, timedelta

FIRST_RETRY = timedelta(minutes=5)  # Postfix minimal_backoff_time is 300s
MAX_INTERVAL = timedelta(minutes=60)  # about Postfix maximal_backoff_time (4000s)
JITTER = 0.2  # ±20%, so a burst of failures does not retry in lockstep


def retry_interval(attempts: int, jitter: float) -> timedelta:
    """The wait after the ``attempts``-th failed attempt (1 = the first failure)."""
    base = FIRST_RETRY * (2 ** max(0, attempts - 1))
    base = min(base, MAX_INTERVAL)
    factor = 1 + JITTER * (2 * jitter - 1)
    return timedelta(seconds=base.total_seconds() * factor)


def next_attempt(attempts: int, now: datetime, expires_at: datetime, jitter: float) -> datetime | None:
    """When to try again, or None when the queue lifetime has run out."""
    if now >= expires_at:
        return None
    return min(now + retry_interval(attempts, jitter), expires_at)
