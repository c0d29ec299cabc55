"""In-flow control: while copies wait to be sent, a new message waits a moment before it is taken.

Postfix's ``in_flow_delay``, for the same reason: a relay that accepts mail
faster than it delivers it builds a queue without bound under sustained
load, and every copy in that queue arrives later. The outbound worker says,
after each claim, how many due copies it left in the store; while that is
more than ``limit``, a session's MAIL FROM is answered only once a claim
finds room again, or after ``delay`` seconds at most. Nothing is refused
and nothing waits longer than the delay: a burst is still taken at once,
only sustained overload is slowed to the pace of delivery.
"""

from __future__ import annotations

import asyncio

DEFAULT_LIMIT = 100  # due copies left unclaimed before new mail is slowed


class InFlow:
    """The worker reports the backlog; each new message asks to be admitted."""

    def __init__(self, delay: float = 1.0, limit: int = DEFAULT_LIMIT) -> None:
        self.delay, self.limit = delay, limit
        self.backlog = 0  # the last count the worker reported
        self.delayed = 0  # messages that waited, for the metrics and tests
        self._room = asyncio.Event()
        self._room.set()

    def report(self, backlog: int) -> None:
        """After a claim: how many due copies are still waiting in the store."""
        self.backlog = backlog
        if backlog <= self.limit:
            self._room.set()
        else:
            self._room.clear()

    async def admit(self) -> bool:
        """Wait while the backlog is over the limit, ``delay`` seconds at most; whether it waited."""
        if self.delay <= 0 or self._room.is_set():
            return False
        self.delayed += 1
        try:
            await asyncio.wait_for(self._room.wait(), self.delay)
        except asyncio.TimeoutError:
            pass
        return True
