"""Sliding-window and open-connection counting for the abuse limits."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from relay.intake.throttle import OpenCounter, WindowCounter

T0 = datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "offsets_minutes, at_minutes, expected",
    [
        ([], 0, 0),
        ([0, 1, 2], 3, 3),
        ([0, 1, 2], 60, 2),  # the first has aged out exactly at the hour
        ([0, 1, 2], 62, 0),
        ([0, 30, 59], 89, 2),
    ],
)
def test_window_counts_only_recent_events(offsets_minutes, at_minutes, expected):
    counter = WindowCounter(limit=10)
    for minutes in offsets_minutes:
        counter.hit("198.51.100.7", T0 + timedelta(minutes=minutes))
    assert counter.count("198.51.100.7", T0 + timedelta(minutes=at_minutes)) == expected


def test_exceeded_after_the_whole_allowance_and_free_again_an_hour_later():
    counter = WindowCounter(limit=3)
    for minute in range(3):
        assert not counter.exceeded("p1", T0 + timedelta(minutes=minute))
        counter.hit("p1", T0 + timedelta(minutes=minute))
    assert counter.exceeded("p1", T0 + timedelta(minutes=5))
    assert not counter.exceeded("p2", T0 + timedelta(minutes=5))  # keys are apart
    assert not counter.exceeded("p1", T0 + timedelta(minutes=61))


def test_keys_are_bounded_and_the_oldest_forgotten():
    counter = WindowCounter(limit=5, max_keys=3)
    for i in range(5):
        counter.hit(f"203.0.113.{i}", T0)
    assert counter.count("203.0.113.0", T0) == 0
    assert counter.count("203.0.113.1", T0) == 0
    assert counter.count("203.0.113.4", T0) == 1


def test_open_counter_refuses_past_the_limit_and_frees_on_close():
    counter = OpenCounter(limit=2)
    assert counter.open("a") and counter.open("a")
    assert not counter.open("a")
    assert counter.current("a") == 2  # the refused one was not counted
    assert counter.open("b")
    counter.close("a")
    assert counter.open("a")
    counter.close("b")
    counter.close("b")  # closing more than opened does not go negative
    assert counter.current("b") == 0
