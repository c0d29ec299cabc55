"""contact_phone: numbers the way people write them, and the numbers that are not phones."""

import pytest

from relay.model import Inspection, PolicyContext
from relay.policy.rules.contact_phone import PhoneSettings, check

SETTINGS = PhoneSettings()


def matches(text, ctx=PolicyContext(), settings=SETTINGS):
    return [f.match for f in check(Inspection(texts=(text,)), ctx, settings)]


@pytest.mark.parametrize(
    "text, found",
    [
        ("my cell is (415) 555-2671 if u need it", ["(415) 555-2671"]),
        ("text me at 415.555.2671!!", ["415.555.2671"]),
        ("4155552671 thats me", ["4155552671"]),
        ("+1 415 555 2671", ["+1 415 555 2671"]),
        ("call me 555 123 4567", ["555 123 4567"]),  # not a real area code, but offered as one
        ("my number is 555-123-4567 lol", ["555-123-4567"]),
        ("hmu 555.123.4567", ["555.123.4567"]),
        ("in london it's +44 7911 123456", ["+44 7911 123456"]),
        ("0 7 9 1 1 1 2 3 4 5 6", ["0 7 9 1 1 1 2 3 4 5 6"]),
        ("4-1-5-5-5-5-2-6-7-1 is my cell", ["4-1-5-5-5-5-2-6-7-1"]),
        ("five five five one two three four five six seven", ["five five five one two three four five six seven"]),
        ("tel:+14155552671", ["+14155552671"]),
    ],
)
def test_phone_numbers_as_people_write_them(text, found):
    assert matches(text) == found


@pytest.mark.parametrize(
    "text",
    [
        "the science fair is on 2026-12-05",
        "see you 12/05/2026 at 10:30",
        "the session runs 10:30-11:45 on Saturday",
        "the laptop was $1,234.56 on sale",
        "she was at that school 1999-2003",
        "seasons 2019-2023 and 2024-2026",
        "I live in 90210",
        "zip is 90210-1234",
        "my order #2125551234 never came",
        "order number 2125551234 shipped",
        "tracking: 2125551234",
        "update to version 10.0.19045 first",
        "read page 1234567 of the manual",
        "count with me: 1 2 3 4 5 6 7 8 9",
        "the score was 3-2 and then 4-1",
        "call 988 if you ever need to talk",
        "the lifeline is 1-800-273-8255",
        "my ip was 192.168.1.1",
    ],
)
def test_numbers_that_are_not_phone_numbers(text):
    assert matches(text) == []


def test_region_decides_numbers_without_country_code():
    text = "ring me on 07911 123456"
    assert matches(text) == []
    assert matches(text, ctx=PolicyContext(region="GB")) == ["07911 123456"]
    assert matches(text, settings=PhoneSettings(extra_regions=("GB",))) == ["07911 123456"]


def test_the_same_number_twice_is_one_finding_with_excerpt():
    found = check(Inspection(subject="415-555-2671", texts=("again: (415) 555 2671",)), PolicyContext(), SETTINGS)
    assert len(found) == 1
    assert found[0].reason == "a phone number in the subject"
    assert found[0].excerpt == "415-555-2671"


def test_html_text_and_links_are_checked():
    html = '<p>my num:</p><p>415 555 2671</p><a href="sms:+12125550199">text</a>'
    assert matches_html(html) == ["415 555 2671", "+12125550199"]


def matches_html(html):
    return [f.match for f in check(Inspection(htmls=(html,)), PolicyContext(), SETTINGS)]
