"""The moderators' notice as rendered: what fired and where, the text masked, and how to answer."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from relay import model, notices
from relay.moderation.notice import highlight, notice_context, wants_notice

DOMAIN = "mentor.test"
WHEN = datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc)
JO = model.Participant(1, 1, "jo.kim@school.example.net", "warm-alpaca-qq", "Jo", model.Role.MENTEE)
SAM = model.Participant(2, 1, "sam.rivera@mail.example.com", "kind-otter-7q", "Sam", model.Role.MENTOR)
ADDRESSES = {JO.email: f"{JO.alias}@{DOMAIN}", SAM.email: f"{SAM.alias}@{DOMAIN}"}
NAMES = {"Jo Kim": "Jo"}

PHONE = model.Finding(
    "contact_phone", model.Action.HOLD, "a phone number", excerpt="easier to text me at 415-867-5309 after school",
    match="415-867-5309",
)
URGENT = model.Finding(
    "words", model.Action.FLAG, "words of a young person in danger", excerpt="sometimes I want to DIE honestly",
    severity=model.Severity.URGENT, match="want to die",
)
SWEAR = model.Finding("words", model.Action.FLAG, "swearing", excerpt="that was <b>shitty</b>", match="shitty")


def stored(findings, texts=("Hi Sam,\nwrite to jo.kim@school.example.net, Jo Kim\n",), attachments=(), subject="After school"):
    inspection = model.Inspection(subject=subject, texts=texts, attachments=attachments)
    return model.StoredMessage(
        id=7, program_id=1, sender=JO, recipients=(SAM,), pairing_id=3, verdict=model.Verdict.combine(findings),
        inspection=inspection, delivery_ids=(11,), received_at=WHEN,
    )


def render(message, where="pairing Sam (mentor) and Jo (mentee)"):
    context = notice_context(message, where, ADDRESSES, NAMES)
    context.update(moderator="Riley", reply_to=f"mod-abc@{DOMAIN}", expires="2026-11-09 15:00 UTC", domain=DOMAIN)
    return notices.render(notices.environment(), "moderation_notice", context)


@pytest.mark.parametrize(
    "excerpt, match, expected",
    [
        ("text me at 415-867-5309 ok", "415-867-5309", ("text me at ", "415-867-5309", " ok")),
        ("add me on SnapChat: jo_k", "snapchat", ("add me on ", "SnapChat", ": jo_k")),
        ("no match given", "", ("no match given", "", "")),
        ("the match is elsewhere", "zoom.us", ("the match is elsewhere", "", "")),
    ],
)
def test_highlight_finds_the_match_in_any_case(excerpt, match, expected):
    assert highlight(excerpt, match) == expected


@pytest.mark.parametrize(
    "findings, wanted",
    [
        ((), False),
        ((model.Finding("x", model.Action.DELIVER, "noted"),), False),
        ((SWEAR,), True),
        ((PHONE,), True),
        ((model.Finding("x", model.Action.DELIVER, "noted", severity=model.Severity.URGENT),), True),
    ],
)
def test_which_verdicts_get_a_notice(findings, wanted):
    assert wants_notice(model.Verdict.combine(findings)) is wanted


@pytest.mark.parametrize(
    "findings, subject_start, done",
    [
        ((PHONE,), "Held: M7 from Jo in pairing Sam (mentor) and Jo (mentee)", "Held: it will not be delivered"),
        ((SWEAR,), "Flagged: M7 from Jo", "Delivered, and flagged"),
        ((URGENT, PHONE), "URGENT - Held: M7 from Jo", "Held: it will not be delivered"),
    ],
)
def test_subject_and_what_was_done(findings, subject_start, done):
    subject, text, html = render(stored(findings))
    assert subject.startswith(subject_start)
    assert f"What was done: {done}" in text
    assert ("URGENT: a rule marked" in text) is any(f.severity is model.Severity.URGENT for f in findings)
    assert html is not None and "How to answer" in html


def test_rules_are_listed_with_the_match_marked_in_text_and_html():
    subject, text, html = render(stored((URGENT, PHONE)))
    assert '"easier to text me at >>415-867-5309<< after school"' in text
    assert '"sometimes I >>want to DIE<< honestly"' in text
    assert "contact_phone, hold: a phone number" in text and "words, flag, URGENT" in text
    assert "<mark>415-867-5309</mark>" in html and "<mark>want to DIE</mark>" in html


def test_the_message_text_is_quoted_with_real_addresses_and_names_masked():
    subject, text, html = render(stored((PHONE,)))
    for rendered in (text, html):
        assert "school.example.net" not in rendered and "Jo Kim" not in rendered
        assert f"{JO.alias}@{DOMAIN}" in rendered
    assert "Hi Sam," in text


def test_attachments_are_listed_not_attached_and_markup_is_escaped_in_html():
    attachments = (model.Attachment("essay draft.pdf", "application/pdf", 48213), model.Attachment("run.exe", "application/octet-stream", 12))
    subject, text, html = render(stored((SWEAR,), attachments=attachments))
    assert "- essay draft.pdf (application/pdf, 48213 bytes)" in text
    assert "run.exe (application/octet-stream, 12 bytes)" in html
    assert "&lt;b&gt;<mark>shitty</mark>&lt;/b&gt;" in html


def test_how_to_answer_names_every_answer_and_the_reply_address():
    subject, text, html = render(stored((PHONE,)))
    for answer in ("approve", "reject <reason>", "hold", "suspend", "note <text>", "help"):
        assert f"  {answer} " in text
    assert f"mod-abc@{DOMAIN}" in text and "expires on 2026-11-09 15:00 UTC" in text


def test_a_circle_message_names_the_circle():
    subject, text, html = render(stored((PHONE,)), where="circle Book club")
    assert subject == "Held: M7 from Jo in circle Book club"
    assert "A message in circle Book club needs a moderator." in text


def test_a_long_text_is_cut_and_said_so():
    subject, text, html = render(stored((PHONE,), texts=("word " * 10_000,)))
    assert "the rest is cut here" in text and len(text) < 30_000
