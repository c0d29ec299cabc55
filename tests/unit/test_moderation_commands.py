"""Moderators' replies from real clients read as the command they meant."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relay.intake.parse import inspect
from relay.moderation.commands import (
    VERBS,
    ModerationCommand,
    new_text,
    parse_command_text,
    parse_moderation_reply,
)

REPLIES = Path(__file__).resolve().parents[1] / "fixtures" / "replies"


FIXTURE_COMMANDS = [
    ("gmail_top_posted.eml", "approve", ""),
    ("gmail_reject_with_reason.eml", "reject", "too personal"),
    ("gmail_html_only.eml", "approve", ""),
    ("outlook_desktop.eml", "approve", "looks fine, the number is the school office."),
    ("outlook_original_message.eml", "reject", "shares a phone number"),
    ("outlook_com_html_only.eml", "approve", ""),
    ("outlook_ios.eml", "hold", "until the coordinator has seen it"),
    ("apple_mail.eml", "note",
     "mentee sounded upset, I will call the mentor tomorrow.\nPlease keep an eye on this pair.\n\nTom"),
    ("thunderbird.eml", "approve", ""),
    ("iphone.eml", "reject", "inappropriate language"),
    ("android_samsung.eml", "approve", ""),
    ("bottom_posted.eml", "reject", "the mentor asks for a private phone call"),
    ("signature_dashes.eml", "approve", "the address is the public library"),
    ("german_gmail.eml", "reject", "Telefonnummer im Text"),
    ("german_outlook.eml", "approve", ""),
    ("french_gmail.eml", "approve", ""),
    ("spanish_gmail.eml", "note", "hablé con la mentora, todo bien"),
    ("dutch_gmail.eml", "reject", "bevat een huisadres"),
    ("dutch_thunderbird.eml", "approve", ""),
    ("unknown_chatter.eml", "unknown", "I will look at this after lunch and approve it then."),
]  # fmt: skip


@pytest.mark.parametrize("fixture,verb,argument", FIXTURE_COMMANDS)
def test_reply_fixtures(fixture: str, verb: str, argument: str) -> None:
    raw = (REPLIES / fixture).read_bytes()
    assert parse_moderation_reply(inspect(raw)) == ModerationCommand(verb, argument)


def test_every_fixture_is_in_the_table() -> None:
    tested = {name for name, *_ in FIXTURE_COMMANDS}
    assert tested == {path.name for path in REPLIES.glob("*.eml")}


@pytest.mark.parametrize("fixture", sorted(path.name for path in REPLIES.glob("*.eml")))
def test_new_text_never_carries_the_notice(fixture: str) -> None:
    """The quoted notice (with its token address and instructions) is always cut."""
    text = new_text(inspect((REPLIES / fixture).read_bytes()))
    assert text
    assert "mod-sunpcvtud3nbeduj6arnoa2fgnf5yqyb" not in text
    assert "held for review" not in text and "wartet" not in text and "retenido" not in text
    assert "Sent from my" not in text and "Get Outlook" not in text
    assert not any(line.startswith(">") for line in text.splitlines())


def test_signature_after_dashes_is_cut() -> None:
    text = new_text(inspect((REPLIES / "signature_dashes.eml").read_bytes()))
    assert text == "approve: the address is the public library"


@pytest.mark.parametrize(
    "text,expected",
    [
    ("approve", ModerationCommand("approve")),
    ("Approve.", ModerationCommand("approve")),
    ("APPROVE!", ModerationCommand("approve")),
    ("*Approve*", ModerationCommand("approve")),
    ("  approve - looks fine", ModerationCommand("approve", "looks fine")),
    ("approve: looks fine", ModerationCommand("approve", "looks fine")),
    ("approve — fine by me", ModerationCommand("approve", "fine by me")),
    ("reject too personal", ModerationCommand("reject", "too personal")),
    ("Reject: shares a home address.", ModerationCommand("reject", "shares a home address.")),
    ("\n\nreject\n", ModerationCommand("reject")),
    ("hold", ModerationCommand("hold")),
    ("Suspend sender is abusive", ModerationCommand("suspend", "sender is abusive")),
    ("help", ModerationCommand("help")),
    ("HELP?", ModerationCommand("help")),
    ("note called the school\nall fine", ModerationCommand("note", "called the school\nall fine")),
    ("note\nthe mentee is ok", ModerationCommand("note", "the mentee is ok")),
    ("approved", ModerationCommand("unknown", "approved")),
    ("approvе", ModerationCommand("unknown", "approvе")),  # Cyrillic 'е'
    ("rejection letter", ModerationCommand("unknown", "rejection letter")),
    ("please approve", ModerationCommand("unknown", "please approve")),
    ("approve@example.org", ModerationCommand("unknown", "approve@example.org")),
    ("", ModerationCommand("unknown")),
    ("   \n  ", ModerationCommand("unknown")),
    ],
)
def test_parse_command_text(text: str, expected: ModerationCommand) -> None:
    assert parse_command_text(text) == expected


@pytest.mark.parametrize(
    "raw",
    [b"", b"Subject: nothing\r\n\r\n", b"Content-Type: text/html\r\n\r\n<p></p>", b"\xff\xfe\x00garbage"],
)
def test_empty_or_broken_replies_are_unknown(raw: bytes) -> None:
    assert parse_moderation_reply(inspect(raw)).verb == "unknown"


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(REPLIES.glob("*.eml"))), st.data())
def test_mangled_replies_never_raise(path: Path, data: st.DataObject) -> None:
    raw = bytearray(path.read_bytes())
    for _ in range(data.draw(st.integers(1, 6))):
        index = data.draw(st.integers(0, len(raw) - 1))
        raw[index : index + data.draw(st.integers(0, 8))] = data.draw(st.binary(max_size=8))
    assert parse_moderation_reply(inspect(bytes(raw))).verb in {*VERBS, "unknown"}


def test_long_note_survives_line_wrapping() -> None:
    words = " ".join(f"word{i}" for i in range(300))
    raw = (
        "From: jane@example.org\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"note {words}\r\n\r\nOn Mon, Dec 1, 2026 at 10:00 AM Relay wrote:\r\n> held\r\n"
    ).encode()
    command = parse_moderation_reply(inspect(raw))
    assert command.verb == "note"
    assert command.argument.split() == words.split()
