"""Closure planning, transcripts and mbox files from plain values."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from relay.model import MaskContext
from relay.scheduler.closure import Entry, closing_moment, days_left, masked_entry, mbox, plan, transcript_text

UTC = timezone.utc


@pytest.mark.parametrize(
    "now, expected",
    [
        # planned a month ahead: both notices at 10:00 local, closure at 09:00 on the day
        (datetime(2026, 11, 2, tzinfo=UTC), [("closure-notice", datetime(2026, 11, 16, 10, tzinfo=UTC), 14),
                                               ("closure-notice", datetime(2026, 11, 27, 10, tzinfo=UTC), 3),
                                               ("closure", datetime(2026, 11, 30, 9, tzinfo=UTC), 0)]),
        # planned 5 days ahead: the 14-day notice is skipped
        (datetime(2026, 11, 25, tzinfo=UTC), [("closure-notice", datetime(2026, 11, 27, 10, tzinfo=UTC), 3),
                                                ("closure", datetime(2026, 11, 30, 9, tzinfo=UTC), 0)]),
        # planned 2 days ahead: the 3-day notice goes at once
        (datetime(2026, 11, 28, 12, tzinfo=UTC), [("closure-notice", datetime(2026, 11, 28, 12, tzinfo=UTC), 3),
                                                    ("closure", datetime(2026, 11, 30, 9, tzinfo=UTC), 0)]),
        # the closing moment has passed: only the closure
        (datetime(2026, 12, 1, tzinfo=UTC), [("closure", datetime(2026, 11, 30, 9, tzinfo=UTC), 0)]),
    ],
)
def test_plan(now, expected):
    assert [(s.kind, s.due_at, s.days_before) for s in plan(date(2026, 11, 30), "UTC", now)] == expected


def test_local_closing_moment_and_days_left():
    assert closing_moment(date(2026, 11, 30), "Europe/Berlin") == datetime(2026, 11, 30, 8, tzinfo=UTC)
    assert days_left(date(2026, 11, 30), "UTC", datetime(2026, 11, 27, 10, tzinfo=UTC)) == 3


RAW = (
    b"From: Jo Kim <jo.kim@school.example.net>\r\nTo: kind-otter@mentor.test\r\nSubject: Hello\r\n"
    b"Message-ID: <a@school.example.net>\r\n\r\nFrom my phone: write to jo.kim@school.example.net, Jo Kim here.\r\n"
)


def test_masked_entry_keeps_only_aliases_and_handles():
    ctx = MaskContext(
        domain="mentor.test", sender_handle="Jo", sender_alias="sly-fox@mentor.test", recipient_email="kind-otter@mentor.test",
        recipient_handle="Sam", message_id="<c1@mentor.test>", date=datetime(2026, 11, 2, 15, tzinfo=UTC),
        address_map={"jo.kim@school.example.net": "sly-fox@mentor.test"}, name_map={"Jo Kim": "Jo"},
    )
    masked, entry = masked_entry(RAW, ctx, "Sam <kind-otter@mentor.test>")
    assert b"school.example.net" not in masked and b"Jo Kim" not in masked
    assert entry.sender == "Jo <sly-fox@mentor.test>" and entry.subject == "Hello"
    assert "sly-fox@mentor.test" in entry.text and "school.example.net" not in entry.text
    box = mbox([(ctx.date, masked)])
    assert box.startswith(b"From relay Mon Nov 02 15:00:00 2026\n") and b"\n>From my phone" in box and b"\r\n" not in box


def test_transcript_text_is_ordered_and_says_when_empty():
    later = Entry("Sam <a@x>", "Jo <b@x>", datetime(2026, 11, 3, tzinfo=UTC), "Re: Hi", "Hello back")
    first = Entry("Jo <b@x>", "Sam <a@x>", datetime(2026, 11, 2, tzinfo=UTC), "Hi", "Hello")
    text = transcript_text([later, first], "Your conversation with Sam")
    assert text.index("Hello\n") < text.index("Hello back") and text.startswith("Your conversation with Sam\n====")
    assert "(no messages were exchanged)" in transcript_text([], "T")
