"""Real clients' shapes, each with its exact expected copy: names where they are names, nothing refused or lost.

The writer is Will Mark (brave-finch), the reader Arne R. van der Heyde
(kind-otter); both have used more than one spelling of their name. Rose
Summer and Bill belong to another pairing and are never masked here.
To see a copy after a deliberate change: REGENERATE=1 pytest this file,
then read every changed line before committing it.
"""

from __future__ import annotations

import email
import email.policy
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest
import vobject

from relay.model import MaskContext
from relay.outbound.rewrite import build_masked_copy

MAIL = Path(__file__).parent.parent / "fixtures" / "mail"
EXPECTED = MAIL / "expected"
SAM, JANE = "sam.rivera@example.net", "jane.doe@example.com"
SAM_ALIAS, JANE_ALIAS = "brave-finch-3k8m1p@mentor.example.org", "kind-otter-7q2x9k@mentor.example.org"

CTX = MaskContext(
    domain="mentor.example.org",
    sender_handle="brave-finch",
    sender_alias=SAM_ALIAS,
    recipient_email=JANE,
    recipient_handle="kind-otter",
    message_id="<c0ffee00c0ffee00c0ffee00@mentor.example.org>",
    date=datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc),
    address_map={SAM: SAM_ALIAS, JANE: JANE_ALIAS, "rose.summer@example.org": "lucky-heron-5t6y7u@mentor.example.org"},
    name_map={
        "Will Mark": "brave-finch",
        "Will R. Mark": "brave-finch",
        "Arne R. van der Heyde": "kind-otter",
        "Arne Heyde": "kind-otter",
    },
)
CORPUS = [
    "words_as_names.eml",
    "vcard_variants.eml",
    "outlook_long_line.eml",
    "long_line_5000.eml",
    "odd_attachment_names.eml",
    "iso2022jp.eml",
    "broken_boundary.eml",
    "calendar_names.eml",
]


def texts(raw: bytes) -> list[str]:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    return [
        p.get_payload(decode=True).decode("utf-8").replace("\r\n", "\n")
        for p in parsed.walk()
        if p.get_content_maintype() == "text"
    ]


@pytest.mark.parametrize("name", CORPUS)
def test_copy_is_exactly_the_expected_one(name: str) -> None:
    copy = build_masked_copy((MAIL / name).read_bytes(), CTX)
    expected = EXPECTED / name.replace(".eml", ".copy")
    if os.environ.get("REGENERATE"):
        expected.write_bytes(copy)
    assert copy == expected.read_bytes()
    assert max(len(line) for line in copy.split(b"\r\n")) < 998 and copy.isascii()


def test_words_that_are_names_stay_words() -> None:
    plain = texts(build_masked_copy((MAIL / "words_as_names.eml").read_bytes(), CTX))[0]
    assert plain.startswith("Hi kind-otter,\n\nI will mark your essay tonight and hope to send it back tomorrow. Will you\n")
    assert "Grace and art matter in an essay, and so does\nhope. Mark the places" in plain
    assert "Rose Summer from the other\ngroup says hello, and so does Bill." in plain  # another pairing's names
    assert "Yesterday kind-otter said" in plain and "kind-otter is an unusual surname" not in plain
    assert "Thanks,\nbrave-finch\n" in plain
    assert f"On Mon, 2 Mar 2026 at 18:00, kind-otter <{JANE_ALIAS}> wrote:" in plain
    assert "> brave-finch, can you mark it this week? WILL MARK and will mark are not names here.\n> kind-otter" in plain


def test_subject_keeps_its_words() -> None:
    copy = email.message_from_bytes(build_masked_copy((MAIL / "words_as_names.eml").read_bytes(), CTX), policy=email.policy.default)
    assert copy["Subject"] == "Will you mark my essay? Hope so"


def test_vcards_are_read_decoded_and_masked_by_name_variant() -> None:
    copy = build_masked_copy((MAIL / "vcard_variants.eml").read_bytes(), CTX)
    arne, will = [t.replace("\n ", "").replace("\n", "\r\n") for t in texts(copy) if t.startswith("BEGIN:VCARD")]
    assert "N:kind-otter;;;;\r\nFN:kind-otter\r\n" in arne  # "Arne van der Heyde": a variant without the initial
    assert f"EMAIL;INTERNET;ENCODING=QUOTED-PRINTABLE:{JANE_ALIAS[:33]}=\r\n{JANE_ALIAS[33:]}\r\n" in arne
    assert "NOTE;CHARSET=UTF-8:Met brave-finch at the fair — call kind-otter about the robotics club\r\n" in arne
    assert "TEL;CELL:+1 555 0100" in arne
    assert "N:brave-finch;;;;\r\nFN;CHARSET=UTF-8:brave-finch\r\n" in will  # "Wìll Mark", quoted-printable, accented
    assert f"EMAIL;TYPE=INTERNET,HOME:{SAM_ALIAS}\r\n" in will and "ORG:Rose Summer Academy" in will
    assert "sam.rivera" not in will and "jane.doe" not in arne
    for card, name, address in ((arne, "kind-otter", JANE_ALIAS), (will, "brave-finch", SAM_ALIAS)):
        read = next(vobject.readComponents(card, allowQP=True))  # written back valid
        assert read.fn.value == name and read.email.value == address




def test_calendar_names_are_masked_in_cn_and_text() -> None:
    ics = texts(build_masked_copy((MAIL / "calendar_names.eml").read_bytes(), CTX))[0].replace("\n ", "")
    assert f'ORGANIZER;CN="brave-finch":mailto:{SAM_ALIAS}' in ics
    assert f"CN=kind-otter;X-NUM-GUESTS=0:mailto:{JANE_ALIAS}" in ics
    assert "ATTENDEE;CN=Rose Summer:mailto:lucky-heron-5t6y7u@mentor.example.org" in ics
    # A capitalised word opening a sentence, with no other sign of a name, stays a word.
    assert f"DESCRIPTION:Will will mark the essay with kind-otter. Questions? Write to {SAM_ALIAS}." in ics


def test_long_lines_arrive_whole() -> None:
    source = (MAIL / "long_line_5000.eml").read_bytes().decode()
    line = next(li for li in source.split("\r\n") if len(li) == 5000)
    plain = texts(build_masked_copy((MAIL / "long_line_5000.eml").read_bytes(), CTX))[0]
    assert line in plain.split("\n") and f"write to {SAM_ALIAS} if it breaks." in plain


def test_attachment_names_are_cleaned_not_refused() -> None:
    parsed = email.message_from_bytes(build_masked_copy((MAIL / "odd_attachment_names.eml").read_bytes(), CTX), policy=email.policy.default)
    names = [p.get_filename() for p in parsed.walk() if p.get_filename()]
    assert names == ["report Bcc: x@evil.example.pdf", "notes X-Evil: 1 tab.txt", f"{SAM_ALIAS}.txt"]
    assert parsed["Bcc"] is None


def test_undecodable_iso_2022_jp_is_decoded_as_clients_do() -> None:
    parsed = email.message_from_bytes(build_masked_copy((MAIL / "iso2022jp.eml").read_bytes(), CTX), policy=email.policy.default)
    assert parsed["Subject"].startswith("① ")
    assert texts(parsed.as_bytes())[0] == "kind-otterさん\nこんにちは。①の件です。\nbrave-finch\n"


def test_a_wrong_boundary_keeps_both_alternatives() -> None:
    parsed = email.message_from_bytes(build_masked_copy((MAIL / "broken_boundary.eml").read_bytes(), CTX), policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert "--actual_boundary_42" not in "".join(texts(parsed.as_bytes()))
