"""The clock protocol and the system clock.

Every scheduler, retry and expiry asks a clock passed in from the edge, so
tests move time instead of sleeping. Times are naive UTC datetimes, the form
the store keeps.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time as a naive UTC datetime."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc).replace(tzinfo=None)


class FixedClock:
    """A clock that only moves when told to; for tests and ``--at`` runs."""

    def __init__(self, at: datetime) -> None:
        self._at = at.replace(tzinfo=None) if at.tzinfo is None else at.astimezone(timezone.utc).replace(tzinfo=None)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at

    def advance(self, **delta: float) -> datetime:
        from datetime import timedelta

        self._at = self._at + timedelta(**delta)
        return self._at
