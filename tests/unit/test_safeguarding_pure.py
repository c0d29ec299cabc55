"""The pure parts of safeguarding: settings with defaults, answers read from a first line, alert recipients, tokens."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from relay.intake.classify import classify
from relay.safeguarding import reply_tokens
from relay.safeguarding.consent import read_answer
from relay.safeguarding.guardian_copy import week_start
from relay.safeguarding.reply_mail import first_words
from relay.safeguarding.settings import Safeguarding, safeguarding
from relay.safeguarding.urgent import recipients_for


@pytest.mark.parametrize(
    "values, expected",
    [
        ({}, Safeguarding()),
        ({"guardian_consent": "required", "guardian_copy": "full", "retention_days": 30, "urgent_ack_minutes": 5},
         Safeguarding("required", "full", 30, 5)),
        ({"guardian_consent": "maybe", "guardian_copy": 3, "retention_days": -1, "urgent_ack_minutes": "x"}, Safeguarding()),
    ],
)
def test_settings_fall_back_to_the_defaults(values, expected):
    assert safeguarding(SimpleNamespace(settings=json.dumps(values))) == expected


@pytest.mark.parametrize(
    "text, words, answer",
    [
        ("Yes, I agree.\n\n> quoted", "yes", "yes"),
        ("  I agree\nthanks", "i agree", "yes"),
        ("\n\nYES", "yes", "yes"),
        ("No, thank you", "no", "no"),
        ("I do not agree", "i do", ""),
        ("maybe later", "maybe later", ""),
        ("", "", ""),
    ],
)
def test_a_guardians_first_line(text, words, answer):
    assert first_words(text) == words
    assert read_answer(words) == answer


def test_first_round_goes_to_coordinators_later_rounds_to_all_staff():
    staff = {"coordinator": ["pat"], "moderator": ["riley"]}
    assert recipients_for(1, staff) == ["pat"]
    assert recipients_for(2, staff) == ["pat", "riley"]
    assert recipients_for(1, {"coordinator": [], "moderator": ["riley"]}) == ["riley"]


def test_tokens_are_signed_and_classified_apart_from_moderation_tokens():
    token = reply_tokens.make_token(b"k" * 32, "random")
    assert reply_tokens.check_token(b"k" * 32, token) and not reply_tokens.check_token(b"j" * 32, token)
    local = reply_tokens.local_part(token)
    assert reply_tokens.parse_local_part(local.upper()) == token
    assert classify(f"{local}@mentor.test", "mentor.test").kind == "safeguarding"
    assert reply_tokens.parse_local_part("mod-" + token) is None


@pytest.mark.parametrize("hours", [0, 3, 7, 8, 9, 23, 24 + 12, 6 * 24 + 23])
def test_a_week_runs_from_monday_eight_to_monday_eight(hours):
    """Monday 03:00 still belongs to the week before: its summary is due at 08:00 that day."""
    monday = datetime.combine(datetime.now(timezone.utc).date(), datetime.min.time(), tzinfo=timezone.utc)
    monday -= timedelta(days=monday.weekday())
    at = monday + timedelta(hours=hours)
    start = week_start(at)
    assert start.weekday() == 0 and (start.hour, start.minute) == (8, 0)
    if hours < 8:
        assert start == monday + timedelta(hours=8) and start > at  # the summary covering ``at`` is due today
    else:
        assert start <= at < start + timedelta(days=7)
