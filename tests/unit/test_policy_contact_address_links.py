"""contact_address and contact_links: street addresses and meeting or file-sharing links."""

import pytest

from relay.model import Inspection, PolicyContext
from relay.policy.rules.contact_address import AddressSettings
from relay.policy.rules.contact_address import check as check_address
from relay.policy.rules.contact_links import LinkSettings
from relay.policy.rules.contact_links import check as check_links


def addresses(text):
    return [f.match for f in check_address(Inspection(texts=(text,)), PolicyContext(), AddressSettings())]


def links(text, settings=LinkSettings()):
    return [f.match for f in check_links(Inspection(texts=(text,)), PolicyContext(), settings)]


@pytest.mark.parametrize(
    "text, found",
    [
        ("I live at 42 Maple Street, come by", ["42 Maple Street"]),
        ("send it to 221B Baker St, Apt 3 London", ["221B Baker St, Apt 3"]),
        ("i live at 12 oak lane lol", ["12 oak lane"]),
        ("my address is 1600 pennsylvania ave nw", ["1600 pennsylvania ave"]),
        ("meet me at 350 5th Ave", ["350 5th Ave"]),
        ("It's 7 N Martin Luther King Blvd. #4", ["7 N Martin Luther King Blvd. #4"]),
        ("I ran 5 miles down the road", []),
        ("We have 3 Harry Potter books", []),
        ("I read 2 Dr Seuss books", []),
        ("meet me at 7 at the park", []),
        ("see chapter 12 for the street scene", []),
    ],
)
def test_street_addresses(text, found):
    assert addresses(text) == found


@pytest.mark.parametrize(
    "text, found",
    [
        ("join https://us02web.zoom.us/j/8512345678?pwd=abc", ["https://us02web.zoom.us/j/8512345678?pwd=abc"]),
        ("meet.google.com/abc-defg-hij", ["meet.google.com/abc-defg-hij"]),
        ("files: https://drive.google.com/drive/folders/1AbC.", ["https://drive.google.com/drive/folders/1AbC"]),
        ("www.dropbox.com/s/xyz/essay.docx?dl=0", ["www.dropbox.com/s/xyz/essay.docx?dl=0"]),
        ("got it from we.tl/t-AbCdEf", ["we.tl/t-AbCdEf"]),
        ("https://1drv.ms/u/s!Abc", ["https://1drv.ms/u/s!Abc"]),
        ("read https://en.wikipedia.org/wiki/Zoom", []),
        ("the zoom lens on my camera", []),
        ("write to someone@dropbox.com", []),
        ("khanacademy.org is great for maths", []),
    ],
)
def test_meeting_and_sharing_links(text, found):
    assert links(text) == found


def test_services_are_configurable_with_path_prefixes():
    settings = LinkSettings(services=("icloud.com/sharedalbum", "padlet.com"))
    assert links("https://www.icloud.com/sharedalbum/#B0abc", settings) == ["https://www.icloud.com/sharedalbum/#B0abc"]
    assert links("https://www.icloud.com/pages/xyz", settings) == []
    assert links("padlet.com/jess/board and zoom.us/j/1", settings) == ["padlet.com/jess/board"]


def test_href_targets_are_checked_even_when_the_text_hides_them():
    html = '<a href="https://zoom.us/j/123">our usual room</a>'
    found = check_links(Inspection(htmls=(html,)), PolicyContext(), LinkSettings())
    assert [(f.match, f.reason) for f in found] == [
        ("https://zoom.us/j/123", "a link to zoom.us (meeting or file sharing) in the link")
    ]
