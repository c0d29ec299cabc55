"""The SMTP door's limits and counters, built once per process from the settings.

Connections per client, failed recipients per client and hour, and the
sizes one message's data may have while it is read. The counting itself is
pure (``relay.intake.throttle``); this module only says what is counted.
"""

from __future__ import annotations

from dataclasses import dataclass

from relay.intake.throttle import OpenCounter, WindowCounter


@dataclass(frozen=True)
class Limits:
    """The door's limits, from the settings (``RELAY_MAX_CONNECTIONS_PER_PEER`` and kin)."""

    connections_per_peer: int = 20
    failed_recipients_per_hour: int = 10
    messages_per_hour: int = 60


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
