"""contact_social: handles and links for talking outside the relay."""

import pytest

from relay.model import Inspection, PolicyContext
from relay.policy.rules.contact_social import SocialSettings, check


def matches(text):
    return [f.match for f in check(Inspection(texts=(text,)), PolicyContext(), SocialSettings())]


@pytest.mark.parametrize(
    "text, found",
    [
        ("just whatsapp me at the number i sent", ["whatsapp me"]),
        ("https://wa.me/14155552671", ["https://wa.me/14155552671"]),
        ("ok so my snap is sk8r.girl22 lol", ["my snap is sk8r.girl22"]),
        ("add me on snapchat: coolkid", ["add me on snapchat: coolkid"]),
        ("snapchat.com/add/coolkid", ["snapchat.com/add/coolkid"]),
        ("insta: @jess.draws", ["insta: @jess.draws"]),
        ("ig @jess.draws", ["ig @jess.draws"]),
        ("I'm @jess.draws on insta btw", ["@jess.draws on insta"]),
        ("see instagram.com/jess.draws", ["instagram.com/jess.draws"]),
        ("my discord is gamer#1234", ["my discord is gamer#1234"]),
        ("do u have discord? im gamer#1234", ["gamer#1234"]),
        ("join https://discord.gg/abc123 tonight", ["https://discord.gg/abc123"]),
        ("t.me/coolchannel", ["t.me/coolchannel"]),
        ("tiktok.com/@dancequeen", ["tiktok.com/@dancequeen"]),
        ("message me on m.me/jess.r", ["m.me/jess.r"]),
        ("kik me sometime", ["kik me"]),
        ("hmu on tiktok", ["hmu on tiktok"]),
        ("follow me @sk8r_boi", ["follow me @sk8r_boi"]),
        ("I'm on signal, my signal username is jess.01", ["my signal username is jess.01"]),
    ],
)
def test_handles_and_links(text, found):
    assert matches(text) == found


@pytest.mark.parametrize(
    "text",
    [
        "I saw a funny video on TikTok yesterday",
        "Instagram is bad for sleep, my teacher said",
        "oh snap, I forgot my homework",
        "my ig is private anyway",
        "my tag is on the shirt",
        "we talked about signal processing in physics",
        "the game is on at 5 - come watch",
        "Do you use Discord for class? Issue #1234 was fixed",
        "@everyone in the group chat laughed",
        "email jo@ig.com",
    ],
)
def test_mentions_that_are_not_contact_details(text):
    assert matches(text) == []


def test_subject_and_links_are_checked():
    inspection = Inspection(subject="add me on insta", htmls=('<a href="https://t.me/jess">me</a>',))
    found = check(inspection, PolicyContext(), SocialSettings())
    assert [f.reason for f in found] == [
        "a social-media or messaging handle or link in the subject",
        "a social-media or messaging handle or link in the link",
    ]
