"""Redaction is pure: every match, in every text part and the subject, whatever the case or line wrapping."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest

from relay.safeguarding.redact import REMOVED, redact_message, redact_text


@pytest.mark.parametrize(
    "text, matches, expected, count",
    [
        ("call 415-867-5309 now", ["415-867-5309"], f"call {REMOVED} now", 1),
        ("12 Elm Street,\nSpringfield", ["12 Elm Street, Springfield"], REMOVED, 1),
        ("see INSTAGRAM.com/jo and instagram.com/jo", ["instagram.com/jo"], f"see {REMOVED} and {REMOVED}", 2),
        ("nothing here", ["415-867-5309"], "nothing here", 0),
        ("nothing here", ["", "  "], "nothing here", 0),
        ("a+b (c) a+b", ["a+b (c)"], f"{REMOVED} a+b", 1),
    ],
)
def test_redact_text(text, matches, expected, count):
    assert redact_text(text, matches) == (expected, count)


def test_every_text_part_and_the_subject_are_redacted_and_attachments_kept():
    msg = EmailMessage()
    msg["Subject"] = "call 415-867-5309"
    msg.set_content("text me at 415-867-5309")
    msg.add_alternative("<p>Tom &amp; Jo: 415-867-5309</p>", subtype="html")
    msg.add_attachment(b"\x89PNG....", maintype="image", subtype="png", filename="me.png")
    msg.add_attachment("notes: 415-867-5309", subtype="plain", filename="notes.txt")
    raw, count = redact_message(msg.as_bytes(), ["415-867-5309", "Tom & Jo"])
    assert count == 5
    out = email.message_from_bytes(raw, policy=email.policy.default)
    assert b"415-867-5309" not in raw
    assert out["Subject"] == f"call {REMOVED}"
    assert out.get_body(("plain",)).get_content().strip() == f"text me at {REMOVED}"
    assert out.get_body(("html",)).get_content().strip() == f"<p>{REMOVED}: {REMOVED}</p>"
    names = [p.get_filename() for p in out.iter_attachments()]
    assert names == ["me.png", "notes.txt"]
