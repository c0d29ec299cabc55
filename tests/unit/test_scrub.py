"""Addresses and names replaced in every spelling clients and web pages use."""

from __future__ import annotations

import pytest

from relay.outbound.scrub import scrub_calendar, scrub_html, scrub_text, scrub_vcard

ADDRESSES = {"jane.doe@example.com": "kind-otter-7q2x9k@mentor.example.org"}
NAMES = {"Jane Doe": "kind-otter"}
ALIAS = "kind-otter-7q2x9k@mentor.example.org"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("write to jane.doe@example.com", f"write to {ALIAS}"),
        ("JANE.DOE@EXAMPLE.COM", ALIAS),
        ("<Jane.Doe@Example.com>", f"<{ALIAS}>"),
        ("On Tue, 3 Mar 2026, Jane Doe <jane.doe@example.com> wrote:", f"On Tue, 3 Mar 2026, kind-otter <{ALIAS}> wrote:"),
        ("From: Jane Doe [mailto:jane.doe@example.com]", f"From: kind-otter [mailto:{ALIAS}]"),
        ("From: Doe, Jane\nSent: Monday\nTo: x", "From: kind-otter\nSent: Monday\nTo: x"),
        ("mailto:jane.doe%40example.com", f"mailto:{ALIAS}"),
        ("mailto:jane%2Edoe%40EXAMPLE%2ecom", f"mailto:{ALIAS}"),
        ("jane.doe&#64;example.com", ALIAS),
        ("jane.doe&#x40;example.com", ALIAS),
        ("jane.doe&#X0040;example.com", ALIAS),
        ("jane.doe&commat;example&period;com", ALIAS),
        ("&#106;&#97;&#110;&#101;.doe@example.com", ALIAS),
        ("xjane.doe@example.com.au", f"x{ALIAS}.au"),  # a stranger's address is mangled, not leaked
        ("Jane Doe, jane doe and JANE\n DOE", "kind-otter, kind-otter and kind-otter"),
        ("Jane Doesburg and MaryJane Doe stay", "Jane Doesburg and MaryJane Doe stay"),
        ("nothing to see", "nothing to see"),
    ],
)
def test_scrub_text(text: str, expected: str) -> None:
    assert scrub_text(text, ADDRESSES, NAMES) == expected


def test_names_never_match_inside_aliases() -> None:
    out = scrub_text("jane.doe@example.com and Otter", ADDRESSES, {"otter": "sly-fox", "Jane": "kind-otter"})
    assert out == f"{ALIAS} and sly-fox"


def test_longer_address_wins_over_its_suffix() -> None:
    addresses = {"doe@example.com": "a@mentor.example.org", "jane.doe@example.com": "b@mentor.example.org"}
    assert scrub_text("jane.doe@example.com doe@example.com", addresses, {}) == "b@mentor.example.org a@mentor.example.org"


def test_empty_maps_change_nothing() -> None:
    assert scrub_text("jane.doe@example.com", {}, {}) == "jane.doe@example.com"
    assert scrub_text("x", {"": "y"}, {" ": "z", "J": "k"}) == "x"


@pytest.mark.parametrize(
    "markup, expected",
    [
        ('<a href="mailto:jane.doe@example.com">Jane Doe</a>', f'<a href="mailto:{ALIAS}">kind-otter</a>'),
        ("Jane&nbsp;Doe &lt;jane.doe&#64;example.com&gt;", f"kind-otter &lt;{ALIAS}&gt;"),
        ('<a href="mailto:jane.doe%40example.com?subject=hi">x</a>', f'<a href="mailto:{ALIAS}?subject=hi">x</a>'),
        ('<span title="Jane Doe">j</span>', '<span title="kind-otter">j</span>'),
    ],
)
def test_scrub_html(markup: str, expected: str) -> None:
    assert scrub_html(markup, ADDRESSES, NAMES) == expected


def test_handles_are_escaped_in_html() -> None:
    assert scrub_html("Jane Doe", {}, {"Jane Doe": 'a<b>"c'}) == "a&lt;b&gt;&quot;c"


@pytest.mark.parametrize(
    "markup, expected",
    [
        ('<img src="https://t.example/p.gif" alt="Logo">', "Logo"),
        ("<IMG SRC='http://t.example/p.gif'>", ""),
        ('<img src="//t.example/p.gif" alt="a > b">', "a &gt; b"),
        ('<img srcset="https://t.example/p.gif 2x" src="cid:x" alt="y">', "y"),
        ('<img src="cid:abc@x" alt="inline">', '<img src="cid:abc@x" alt="inline">'),
        ('<img src="data:image/png;base64,AAAA">', '<img src="data:image/png;base64,AAAA">'),
    ],
)
def test_remote_images_become_alt_text(markup: str, expected: str) -> None:
    assert scrub_html(markup, {}, {}, strip_remote_images=True) == expected
    assert scrub_html(markup, {}, {}) == markup


def test_vcard_names_and_folded_emails() -> None:
    card = "BEGIN:VCARD\r\nN:Doe;Jane;;;\r\nFN:Jane Doe\r\nitem1.EMAIL;TYPE=work:jane.doe@exa\r\n mple.com\r\nEND:VCARD\r\n"
    assert scrub_vcard(card, ADDRESSES, NAMES).split("\r\n") == [
        "BEGIN:VCARD", "N:kind-otter;;;;", "FN:kind-otter", f"item1.EMAIL;TYPE=work:{ALIAS}", "END:VCARD", "",
    ]


def test_vcard_unknown_name_is_kept() -> None:
    card = "N:Smith;Alex;;;\nEMAIL;ENCODING=QUOTED-PRINTABLE:jane.doe=40example.com\n"
    assert scrub_vcard(card, ADDRESSES, NAMES) == f"N:Smith;Alex;;;\r\nEMAIL;ENCODING=QUOTED-PRINTABLE:{ALIAS}\r\n"


def test_calendar_lines_are_scrubbed_and_refolded() -> None:
    ics = 'ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;CN="Doe, Jane";X-NUM-GUESTS=0:mailto:jane.doe@exam\r\n ple.com\r\n'
    out = scrub_calendar(ics, ADDRESSES, NAMES)
    assert all(len(line.encode()) <= 75 for line in out.split("\r\n"))
    assert out.replace("\r\n ", "") == f'ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;CN="kind-otter";X-NUM-GUESTS=0:mailto:{ALIAS}\r\n'
