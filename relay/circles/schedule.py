"""When a member's digest is due and which messages it covers. Pure: times in, times out.

A digest goes out at the member's local morning and covers the day before
it: from the previous local morning to this one, so no message is in two
digests or in none, across daylight-saving changes too.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone, tzinfo

DIGEST_HOUR = 7


def morning(day: date, tz: tzinfo, hour: int = DIGEST_HOUR) -> datetime:
    """``hour`` o'clock local time on ``day``, in UTC (a nonexistent local time moves forward)."""
    local = datetime.combine(day, time(hour), tzinfo=tz)
    return local.astimezone(timezone.utc)


def mornings_around(now: datetime, tz: tzinfo, hour: int = DIGEST_HOUR) -> tuple[date, date]:
    """The local dates of the last morning at or before ``now`` and of the next one after it."""
    today = now.astimezone(tz).date()
    if morning(today, tz, hour) <= now:
        return today, today + timedelta(days=1)
    return today - timedelta(days=1), today


def window(day: date, tz: tzinfo, hour: int = DIGEST_HOUR) -> tuple[datetime, datetime]:
    """[previous morning, this morning) in UTC: what the digest sent on ``day`` covers."""
    return morning(day - timedelta(days=1), tz, hour), morning(day, tz, hour)
