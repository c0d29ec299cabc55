"""Reminder planning: windows, levels, quiet hours and away time, as plain values."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from relay.scheduler.reminders import Rules, Waiting, after_quiet, is_quiet, next_step, rules_for, waited

UTC = timezone.utc
SENT = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


def waiting(**changes):
    values = dict(message_id=1, pairing_id=1, writer_id=2, reader_id=1, since=SENT, reader_timezone="UTC")
    values.update(changes)
    return Waiting(**values)


@pytest.mark.parametrize(
    "changes, now, expected",
    [
        ({}, SENT + timedelta(hours=1), (1, SENT + timedelta(hours=48))),
        ({"levels_sent": frozenset({1})}, SENT + timedelta(hours=50), (2, SENT + timedelta(hours=96))),
        ({"levels_sent": frozenset({1, 2})}, SENT + timedelta(hours=97), (3, SENT + timedelta(hours=144))),
        ({"levels_sent": frozenset({1, 2, 3})}, SENT + timedelta(days=30), None),
        # away now: paused
        ({"away_until": SENT + timedelta(days=5)}, SENT + timedelta(days=3), None),
        # back from an absence that covered the message: the window starts again from the return
        ({"away_until": SENT + timedelta(days=5)}, SENT + timedelta(days=6), (1, SENT + timedelta(days=7))),
        # an absence that ended before the message does not matter
        ({"away_until": SENT - timedelta(days=1)}, SENT, (1, SENT + timedelta(hours=48))),
        # 48 h after 03:30 UTC is 22:30 in New York: moved to 08:00 local (13:00 UTC)
        ({"since": datetime(2026, 11, 3, 3, 30, tzinfo=UTC), "reader_timezone": "America/New_York"},
         SENT, (1, datetime(2026, 11, 5, 13, 0, tzinfo=UTC))),
    ],
)
def test_next_step(changes, now, expected):
    step = next_step(waiting(**changes), Rules(), now)
    assert (step and (step.level, step.due_at)) == (expected or None)


def test_escalation_can_be_switched_off_and_mentees_get_one_softer_nudge():
    assert next_step(waiting(levels_sent=frozenset({1, 2})), Rules(escalate=False), SENT) is None
    soft = rules_for(48, {"remind_mentees": True}, to_mentee=True)
    assert soft.window == timedelta(hours=96) and soft.max_level == 1 and not soft.escalate
    assert next_step(waiting(levels_sent=frozenset({1}), to_mentee=True), soft, SENT + timedelta(days=30)) is None
    assert rules_for(24, {}, to_mentee=False).window == timedelta(hours=24)


@pytest.mark.parametrize(
    "at, tz, start, end, quiet",
    [
        (datetime(2026, 11, 2, 2, 0, tzinfo=UTC), "UTC", 21, 8, True),
        (datetime(2026, 11, 2, 8, 0, tzinfo=UTC), "UTC", 21, 8, False),
        (datetime(2026, 11, 2, 21, 0, tzinfo=UTC), "UTC", 21, 8, True),
        (datetime(2026, 11, 2, 14, 0, tzinfo=UTC), "Asia/Tokyo", 21, 8, True),  # 23:00 in Tokyo
        (datetime(2026, 11, 2, 13, 0, tzinfo=UTC), "UTC", 12, 14, True),
        (datetime(2026, 11, 2, 3, 0, tzinfo=UTC), "UTC", 0, 0, False),
        (datetime(2026, 11, 2, 3, 0, tzinfo=UTC), "Not/AZone", 21, 8, True),  # unknown zone: UTC
    ],
)
def test_quiet_hours(at, tz, start, end, quiet):
    assert is_quiet(at, tz, start, end) is quiet
    moved = after_quiet(at, tz, start, end)
    assert (moved == at) is not quiet and not is_quiet(moved, tz, start, end)


@pytest.mark.parametrize(
    "delta, text",
    [(timedelta(minutes=5), "less than an hour"), (timedelta(hours=1), "1 hour"), (timedelta(hours=49), "2 days"),
     (timedelta(days=1), "1 day")],
)
def test_waited(delta, text):
    assert waited(SENT, SENT + delta) == text
