"""Time-zone names as people and programs give them, read leniently: an unknown zone is UTC."""

from __future__ import annotations

from datetime import timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(*names: str) -> ZoneInfo | timezone:
    """The first name that is a known IANA zone (a participant's, then the program's); UTC when none is."""
    for name in names:
        if not name:
            continue
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return timezone.utc
