"""contact_email: addresses that are not participants' own or the relay's."""

import pytest

from relay.model import Action, Attachment, Inspection, PolicyContext
from relay.policy.rules.contact_email import EmailSettings, check

CTX = PolicyContext(
    known_addresses=frozenset({"Mentor.Real@Example.com", "mentee@school.example.net"}),
    relay_domain="mentor.example.org",
)


def matches(inspection, settings=EmailSettings(), ctx=CTX):
    return [f.match for f in check(inspection, ctx, settings)]


@pytest.mark.parametrize(
    "text, found",
    [
        ("email me at sam.lee2009@gmail.com ok?", ["sam.lee2009@gmail.com"]),
        ("my other one is SAM+games@outlook.co.uk.", ["SAM+games@outlook.co.uk"]),
        ("its sam dot lee at gmail dot com", ["lee at gmail dot com"]),
        ("sam(at)yahoo(dot)com", ["sam(at)yahoo(dot)com"]),
        ("write to samlee at gmail.com", ["samlee at gmail.com"]),
        # participants' own addresses, in any case, and the relay's aliases are fine
        ("you can reach me at mentor.real@example.com", []),
        ("On Tue, kind-otter-7q2x9k@mentor.example.org wrote:", []),
        ("bounces go to b+x@lists.mentor.example.org", []),
        # prose that only looks like an address
        ("look at the photos at flickr.com", []),
        ("we met at noon. com-pletely fine", []),
        ("price is 5@3 for the set", []),
    ],
)
def test_addresses_in_text(text, found):
    assert matches(Inspection(texts=(text,))) == found


def test_subject_html_links_and_attachment_names_are_checked():
    inspection = Inspection(
        subject="new addr: kid99@hotmail.com",
        htmls=('<p>click <a href="mailto:other@icloud.com">here</a></p>',),
        attachments=(Attachment("cv_jo.smith@gmail.com.pdf", "application/pdf", 100),),
    )
    found = check(inspection, CTX, EmailSettings())
    assert [(f.match, f.reason) for f in found] == [
        ("kid99@hotmail.com", "an email address in the subject"),
        ("other@icloud.com", "an email address in the link"),
        ("cv_jo.smith@gmail.com.pdf", "an email address in the attachment name"),
    ]
    assert all(f.action is Action.HOLD for f in found)


def test_the_same_address_twice_is_one_finding():
    assert matches(Inspection(texts=("a@b.com", "> a@b.com"))) == ["a@b.com"]


def test_spelled_out_can_be_switched_off():
    settings = EmailSettings(spelled_out=False)
    assert matches(Inspection(texts=("sam at gmail dot com",)), settings) == []
