"""Digest content and response figures from plain values."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from relay.scheduler.digests import DailyFacts, daily_due, figures, hours_text, is_empty, percentile, sections, waits, weekly_due

T = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


def h(n):
    return T + timedelta(hours=n)


@pytest.mark.parametrize(
    "events, expected",
    [
        ([], []),
        ([("mentee", h(0)), ("mentor", h(5))], [(h(0), h(5))]),
        ([("mentee", h(0)), ("mentee", h(2)), ("mentor", h(5))], [(h(0), h(5))]),  # one wait for a run
        ([("mentor", h(0)), ("mentee", h(1))], [(h(1), None)]),
        ([("mentee", h(6)), ("mentor", h(4)), ("mentee", h(0))], [(h(0), h(4)), (h(6), None)]),  # sorted by time
    ],
)
def test_waits(events, expected):
    assert waits(events) == expected


def test_figures_median_p90_and_unanswered():
    pairs = [(h(0), h(n)) for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 30)] + [(h(0), None)]
    got = figures("Sam", pairs, reminders=2)
    assert (got.answered, got.unanswered, got.median_hours, got.p90_hours, got.reminders) == (10, 1, 5.5, 9.0, 2)
    empty = figures("Ann", [])
    assert empty.median_hours is None and empty.p90_hours is None and hours_text(None) == "-"


@pytest.mark.parametrize("values, fraction, expected", [([], 0.9, None), ([4.0], 0.9, 4.0), ([1, 2, 3, 4], 0.5, 2)])
def test_percentile(values, fraction, expected):
    assert percentile(values, fraction) == expected


def test_nothing_to_say_means_no_digest():
    assert is_empty(DailyFacts())
    facts = DailyFacts(held=("M1 from Jo",), new_pairings=("Sam and Jo",))
    assert not is_empty(facts)
    assert [title for title, _ in sections(facts)] == ["Waiting for a moderator", "New pairings"]


def test_due_moments_follow_local_time():
    day, due = daily_due(datetime(2026, 11, 2, 3, 0, tzinfo=timezone.utc), "America/Los_Angeles")
    assert str(day) == "2026-11-01" and due == datetime(2026, 11, 1, 16, 0, tzinfo=timezone.utc)
    week, monday = weekly_due(datetime(2026, 11, 5, 12, 0, tzinfo=timezone.utc), "UTC")
    assert week == "2026-W45" and monday == datetime(2026, 11, 2, 8, 0, tzinfo=timezone.utc)
