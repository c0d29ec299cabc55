"""Counting for the abuse limits: events per key in a sliding window, and open connections per key.

Pure: the caller says what time it is. Keys are client addresses or
participant ids; nothing here knows which. Memory stays bounded: keys whose
events have all aged out are forgotten, and past ``max_keys`` the oldest key
is dropped (a flood of distinct addresses then costs the flooder its history,
never the relay its memory).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Hashable


@dataclass(frozen=True)
class Limits:
    """The door's limits, from the settings (``RELAY_MAX_CONNECTIONS_PER_PEER`` and kin)."""

    connections_per_peer: int = 20
    failed_recipients_per_hour: int = 10
    messages_per_hour: int = 60


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


@dataclass(frozen=True)
class DataLimits:
    """Limits on one message's data, enforced while it is read."""

    max_size: int = 25 * 1024 * 1024
    max_header: int = 64 * 1024
    max_line: int = 1000  # bytes with the CRLF (RFC 5321 4.5.3.1.6)


class Door:
    """Everything the SMTP door counts, built once per process from the settings."""

    def __init__(self, limits: Limits = Limits(), data: DataLimits = DataLimits()) -> None:
        self.limits = limits
        self.data = data
        self.connections = OpenCounter(limits.connections_per_peer)
        self.failures = WindowCounter(limits.failed_recipients_per_hour)
        self.messages = WindowCounter(limits.messages_per_hour)

    @classmethod
    def from_settings(cls, settings) -> "Door":
        """From ``relay.config.Settings``."""
        return cls(
            Limits(
                connections_per_peer=settings.max_connections_per_peer,
                failed_recipients_per_hour=settings.max_failed_recipients,
                messages_per_hour=settings.messages_per_hour,
            ),
            DataLimits(
                max_size=settings.max_message_size,
                max_header=settings.max_header_size,
                max_line=settings.max_line_length,
            ),
        )
