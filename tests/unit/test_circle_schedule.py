"""When a digest is due and what it covers, across zones and daylight-saving changes."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from relay.circles.schedule import mornings_around, morning, window
from relay.timezones import zone

UTC = timezone.utc


@pytest.mark.parametrize(
    "now, tz, last, upcoming",
    [
        (datetime(2026, 11, 2, 15, 0, tzinfo=UTC), "UTC", date(2026, 11, 2), date(2026, 11, 3)),
        (datetime(2026, 11, 3, 6, 59, tzinfo=UTC), "UTC", date(2026, 11, 2), date(2026, 11, 3)),
        (datetime(2026, 11, 3, 7, 0, tzinfo=UTC), "UTC", date(2026, 11, 3), date(2026, 11, 4)),
        # 07:00 in New York (EST) is 12:00 UTC
        (datetime(2026, 11, 3, 11, 0, tzinfo=UTC), "America/New_York", date(2026, 11, 2), date(2026, 11, 3)),
        (datetime(2026, 11, 3, 12, 0, tzinfo=UTC), "America/New_York", date(2026, 11, 3), date(2026, 11, 4)),
        # Tokyo is already on the next day
        (datetime(2026, 11, 2, 23, 0, tzinfo=UTC), "Asia/Tokyo", date(2026, 11, 3), date(2026, 11, 4)),
    ],
)
def test_mornings_around(now, tz, last, upcoming):
    assert mornings_around(now, zone(tz)) == (last, upcoming)
    assert morning(last, zone(tz)) <= now < morning(upcoming, zone(tz))


@pytest.mark.parametrize(
    "day, tz, hours",
    [
        (date(2026, 11, 3), "UTC", 24),
        (date(2026, 3, 29), "Europe/London", 23),  # clocks go forward in the night to 29 March
        (date(2026, 10, 25), "Europe/London", 25),  # and back in the night to 25 October
    ],
)
def test_windows_cover_the_local_day_without_gaps(day, tz, hours):
    since, until = window(day, zone(tz))
    assert until - since == timedelta(hours=hours)
    assert window(day + timedelta(days=1), zone(tz))[0] == until  # the next digest starts where this one ends


@pytest.mark.parametrize("names, expected", [(("", "Europe/Paris"), "Europe/Paris"), (("Mars/Olympus", ""), "UTC"),
                                            (("Asia/Tokyo", "Europe/Paris"), "Asia/Tokyo"), ((), "UTC")])
def test_zone_takes_the_first_known_name(names, expected):
    assert str(zone(*names)) == expected
