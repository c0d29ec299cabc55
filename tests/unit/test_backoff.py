"""Retry timing: first retry within minutes, doubling, capped at an hour, last try at the lifetime."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from relay.outbound.backoff import MAX_INTERVAL, next_attempt, retry_interval

NOW = datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc)
LIFETIME = timedelta(days=5)


@pytest.mark.parametrize(
    "attempts, jitter, minutes",
    [
        (1, 0.0, 5),
        (1, 0.999999, 4.0),
        (1, 0.5, 4.5),
        (2, 0.0, 10),
        (3, 0.0, 20),
        (4, 0.0, 40),
        (5, 0.0, 60),
        (6, 0.0, 60),
        (40, 0.0, 60),
        (10_000, 0.0, 60),
        (0, 0.0, 5),
    ],
)
def test_retry_interval_doubles_from_five_minutes_up_to_an_hour(attempts, jitter, minutes):
    assert retry_interval(attempts, jitter) == pytest.approx(timedelta(minutes=minutes), abs=timedelta(seconds=1))


@pytest.mark.parametrize("jitter", [0.0, 0.1, 0.5, 0.9, 0.999999, -3.0, 7.0])
def test_no_wait_is_longer_than_the_cap_or_shorter_than_four_fifths(jitter):
    for attempts in range(1, 30):
        wait = retry_interval(attempts, jitter)
        assert wait <= MAX_INTERVAL
        assert wait >= timedelta(minutes=4)


def test_first_retry_comes_within_minutes():
    assert next_attempt(1, NOW, NOW + LIFETIME, 0.3) - NOW < timedelta(minutes=6)


def test_a_wait_past_the_lifetime_is_cut_to_the_lifetime():
    expires = NOW + timedelta(minutes=7)
    assert next_attempt(3, NOW, expires, 0.0) == expires


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(seconds=1), timedelta(days=3)])
def test_no_retry_once_the_lifetime_is_over(offset):
    assert next_attempt(2, NOW + LIFETIME + offset, NOW + LIFETIME, 0.0) is None


def test_tries_over_five_days_are_at_most_an_hour_apart_and_end_at_the_lifetime():
    expires, at, attempts = NOW + LIFETIME, NOW, 0
    while True:
        attempts += 1
        following = next_attempt(attempts, at, expires, 0.5)
        if following is None:
            break
        assert following - at <= timedelta(hours=1)
        at = following
    assert at == expires
    assert 110 < attempts < 160  # about one an hour for five days
