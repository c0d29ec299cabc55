"""Counting for the abuse limits: events per key in a sliding window, and open connections per key.

Pure: the caller says what time it is. Keys are client addresses or
participant ids; nothing here knows which. Memory stays bounded: keys whose
events have all aged out are forgotten, and past ``max_keys`` the oldest key
is dropped (a flood of distinct addresses then costs the flooder its history,
never the relay its memory).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from datetime import datetime, timedelta
from typing import Hashable


class WindowCounter:
    """How many events each key had in the last ``window``."""

    def __init__(self, limit: int, window: timedelta = timedelta(hours=1), max_keys: int = 50_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._events: OrderedDict[Hashable, deque[datetime]] = OrderedDict()

    def count(self, key: Hashable, now: datetime) -> int:
        events = self._events.get(key)
        if events is None:
            return 0
        self._expire(key, events, now)
        return len(events)

    def exceeded(self, key: Hashable, now: datetime) -> bool:
        """True once the key has used its whole allowance."""
        return self.count(key, now) >= self.limit

    def hit(self, key: Hashable, now: datetime) -> int:
        """Record one event; the count afterwards."""
        events = self._events.get(key)
        if events is None:
            events = self._events[key] = deque()
            while len(self._events) > self.max_keys:
                self._events.popitem(last=False)
        else:
            self._expire(key, events, now)
            self._events.move_to_end(key)
        events.append(now)
        return len(events)

    def _expire(self, key: Hashable, events: deque[datetime], now: datetime) -> None:
        cutoff = now - self.window
        while events and events[0] <= cutoff:
            events.popleft()
        if not events:
            self._events.pop(key, None)


class OpenCounter:
    """Open connections per key, refusing the one past ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[Hashable, int] = {}

    def open(self, key: Hashable) -> bool:
        """Count a new connection; False (and nothing counted) when the key is at its limit."""
        current = self._open.get(key, 0)
        if current >= self.limit:
            return False
        self._open[key] = current + 1
        return True

    def close(self, key: Hashable) -> None:
        current = self._open.get(key, 0) - 1
        if current > 0:
            self._open[key] = current
        else:
            self._open.pop(key, None)

    def current(self, key: Hashable) -> int:
        return self._open.get(key, 0)
