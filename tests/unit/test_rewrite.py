"""The masked copy of real clients' messages: which headers, which bodies, nothing real."""

from __future__ import annotations

import email
import email.message
import email.policy
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from relay.model import MaskContext
from relay.outbound.headers import format_address, header_line, safe_header_value
from relay.outbound.rewrite import build_masked_copy

MAIL = Path(__file__).parent.parent / "fixtures" / "mail"
SAM, JANE = "sam.rivera@example.net", "jane.doe@example.com"
SAM_ALIAS, JANE_ALIAS = "brave-finch-3k8m1p@mentor.example.org", "kind-otter-7q2x9k@mentor.example.org"
REAL = (SAM, JANE, "sam.rivera.personal@example.org")

CTX = MaskContext(
    domain="mentor.example.org",
    sender_handle="brave-finch",
    sender_alias=SAM_ALIAS,
    recipient_email=JANE,
    recipient_handle="kind-otter",
    message_id="<5f0c2a9be1d34c7a8e6b1f20@mentor.example.org>",
    date=datetime(2026, 3, 3, 11, 15, 29, tzinfo=timezone(timedelta(hours=1))),
    in_reply_to=("<m-41@mentor.example.org>",),
    references=("<m-40@mentor.example.org>", "<m-41@mentor.example.org>"),
    address_map={SAM: SAM_ALIAS, JANE: JANE_ALIAS, "sam.rivera.personal@example.org": SAM_ALIAS},
    name_map={"Sam Rivera": "brave-finch", "Jane Doe": "kind-otter"},
    extra_headers=(("List-Id", "Spring 2026 <spring-2026.mentor.example.org>"),),
)

FIXTURES = sorted(p.name for p in MAIL.glob("*.eml"))

ALLOWED_TOP = {
    "from", "to", "subject", "date", "message-id", "in-reply-to", "references", "mime-version",
    "content-type", "content-transfer-encoding", "content-disposition", "reply-to", "list-id",
}
ATTACHED_TOP = {"from", "to", "cc", "date", "subject", "mime-version"}
ALLOWED_PART = {"content-type", "content-transfer-encoding", "content-disposition", "content-id"}
DROPPED = (
    "Received", "Return-Path", "Sender", "Cc", "Bcc", "DKIM-Signature", "ARC-Seal",
    "ARC-Message-Signature", "ARC-Authentication-Results", "Authentication-Results",
    "X-Originating-IP", "X-Mailer", "User-Agent", "Disposition-Notification-To",
    "Return-Receipt-To", "Thread-Index", "Thread-Topic", "X-Google-Smtp-Source",
    "X-Gm-Message-State", "Delivered-To", "Organization", "X-Mozilla-Draft-Info",
    "Content-Description", "X-Attachment-Id", "Auto-Submitted", "Content-Language",
)


def masked(name: str, ctx: MaskContext = CTX) -> bytes:
    return build_masked_copy((MAIL / name).read_bytes(), ctx)


def header_names(raw: bytes) -> list[str]:
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    return [line.split(":", 1)[0] for line in head.split("\r\n") if line and line[0] not in " \t"]


def decoded_texts(raw: bytes) -> list[str]:
    """Every text the recipient's client would show, attached messages included."""
    texts = []
    for part in email.message_from_bytes(raw, policy=email.policy.default).walk():
        if part.get_content_maintype() == "text" or part.get_content_type() == "application/ics":
            texts.append(part.get_payload(decode=True).decode("utf-8"))
    return texts


@pytest.mark.parametrize("name", FIXTURES)
def test_copy_is_7bit_crlf_and_short_lined(name: str) -> None:
    raw = masked(name)
    assert raw.isascii()
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert b"\r" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert b"could not be relayed" not in raw


@pytest.mark.parametrize("name", FIXTURES)
def test_top_headers_come_from_the_allowlist_only(name: str) -> None:
    names = header_names(masked(name))
    assert {n.lower() for n in names} <= ALLOWED_TOP
    assert names[:7] == ["From", "To", "Subject", "Date", "Message-ID", "In-Reply-To", "References"]
    assert names.count("Content-Type") == 1 and names[-1] == "List-Id"
    for dropped in DROPPED:
        assert dropped not in names


@pytest.mark.parametrize("name", FIXTURES)
def test_part_headers_come_from_the_allowlist_only(name: str) -> None:
    def check(part: email.message.Message, allowed: set[str]) -> None:
        assert {k.lower() for k in part.keys()} <= allowed
        if part.get_content_type() == "message/rfc822":
            check(part.get_payload(0), ALLOWED_PART | ATTACHED_TOP)
        elif part.is_multipart():
            for child in part.get_payload():
                check(child, ALLOWED_PART)

    check(email.message_from_bytes(masked(name), policy=email.policy.default), ALLOWED_TOP)


@pytest.mark.parametrize("name", FIXTURES)
def test_no_real_address_anywhere(name: str) -> None:
    raw = masked(name)
    # The recipient's own address is in To, by design; nowhere else.
    assert raw.count(JANE.encode()) == 1 and f'\r\nTo: "kind-otter" <{JANE}>\r\n'.encode() in raw
    raw = raw.replace(JANE.encode(), b"recipient")
    everything = raw.decode("ascii").lower() + "\n".join(decoded_texts(raw)).lower()
    for address in REAL:
        assert address not in everything
    assert "%40example" not in everything and "&#64;" not in everything and "&#x40;" not in everything


@pytest.mark.parametrize(
    "header, expected",
    [
        ("From", '"brave-finch" <brave-finch-3k8m1p@mentor.example.org>'),
        ("To", '"kind-otter" <jane.doe@example.com>'),
        ("Date", "Tue, 03 Mar 2026 10:15:29 +0000"),
        ("Message-ID", "<5f0c2a9be1d34c7a8e6b1f20@mentor.example.org>"),
        ("In-Reply-To", "<m-41@mentor.example.org>"),
        ("References", "<m-40@mentor.example.org> <m-41@mentor.example.org>"),
        ("MIME-Version", "1.0"),
        ("List-Id", "Spring 2026 <spring-2026.mentor.example.org>"),
    ],
)
def test_headers_written_from_the_context(header: str, expected: str) -> None:
    line = f"\r\n{header}: {expected}\r\n".encode()
    assert line in b"\r\n" + masked("gmail_reply.eml")


def test_threading_comes_only_from_the_context() -> None:
    raw = masked("apple_mail_related.eml", replace(CTX, in_reply_to=(), references=()))
    names = header_names(raw)
    assert "In-Reply-To" not in names and "References" not in names
    assert b"aaa111" not in raw and b"zzz999" not in raw
    assert b"8E7D6C5B" not in raw  # the original Message-ID


def test_long_reference_chains_keep_root_and_newest() -> None:
    refs = tuple(f"<m-{i}@mentor.example.org>" for i in range(40))
    msg = email.message_from_bytes(masked("gmail_reply.eml", replace(CTX, references=refs)), policy=email.policy.default)
    kept = str(msg["References"]).split()
    assert len(kept) == 20 and kept[0] == refs[0] and kept[-19:] == list(refs[-19:])


def test_reply_to_only_when_the_context_sets_it() -> None:
    assert "Reply-To" not in header_names(masked("calendar_invite.eml"))  # the original had one
    raw = masked("calendar_invite.eml", replace(CTX, reply_to="circle-robotics@mentor.example.org"))
    assert b"\r\nReply-To: <circle-robotics@mentor.example.org>\r\n" in raw


@pytest.mark.parametrize(
    "name, subject",
    [
        ("iphone_nonascii.eml", "Re: Grüße aus Köln 😊"),
        ("android_8bit.eml", "Réponse rapide – à demain"),
        ("calendar_invite.eml", "Invitation: Mentoring check-in @ Thu 12 Mar 2026 16:00 - 16:30 (GMT) (" + JANE_ALIAS + ")"),
        ("outlook_reply.eml", "RE: Your first week"),
    ],
)
def test_subject_is_decoded_scrubbed_and_reencoded(name: str, subject: str) -> None:
    msg = email.message_from_bytes(masked(name), policy=email.policy.default)
    assert msg["Subject"] == subject


def test_encoded_subject_cannot_add_headers() -> None:
    raw = masked("smuggle_subject.eml")
    names = header_names(raw)
    assert names.count("Subject") == 1
    assert "Bcc" not in names and "X-Injected" not in names and "Reply-To" not in names
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Bcc"] is None and msg["X-Injected"] is None
    assert "\r" not in msg["Subject"] and "\n" not in msg["Subject"]


@pytest.mark.parametrize(
    "name, fragment",
    [
        ("gmail_reply.eml", "On Mon, 2 Mar 2026 at 18:00, brave-finch <brave-finch-3k8m1p@mentor.example.org> wrote:"),
        ("gmail_reply.eml", 'href="mailto:brave-finch-3k8m1p@mentor.example.org"'),
        ("gmail_reply.eml", "school account, brave-finch-3k8m1p@mentor.example.org works"),
        ("outlook_reply.eml", "From: kind-otter [mailto:kind-otter-7q2x9k@mentor.example.org]"),
        ("outlook_reply.eml", "To: brave-finch <brave-finch-3k8m1p@mentor.example.org>"),
        ("outlook_reply.eml", "<b>From:</b> kind-otter &lt;<a href=\"mailto:kind-otter-7q2x9k@mentor.example.org\">"),
        ("outlook_reply.eml", "kind-otter<br>Volunteer mentor<br>kind-otter-7q2x9k@mentor.example.org"),
        ("outlook_reply.eml", "brave-finch &lt;brave-finch-3k8m1p@mentor.example.org&gt;"),
        ("iphone_nonascii.eml", "On Mar 3, 2026, at 10:02 AM, kind-otter <kind-otter-7q2x9k@mentor.example.org> wrote:"),
        ("apple_mail_related.eml", "resend it from kind-otter-7q2x9k@mentor.example.org tomorrow"),
        ("thunderbird_vcard.eml", "My other address is brave-finch-3k8m1p@mentor.example.org if"),
        ("android_8bit.eml", "Mon adresse perso : brave-finch-3k8m1p@mentor.example.org"),
        ("malformed_no_boundary.eml", "Mail me at brave-finch-3k8m1p@mentor.example.org or brave-finch-3k8m1p@mentor.example.org"),
    ],
)
def test_embedded_addresses_become_aliases(name: str, fragment: str) -> None:
    assert any(fragment in text for text in decoded_texts(masked(name)))


def test_vcard_attachment_is_scrubbed() -> None:
    card = next(t for t in decoded_texts(masked("thunderbird_vcard.eml")) if t.startswith("BEGIN:VCARD"))
    lines = card.split("\r\n")
    assert "N:brave-finch;;;;" in lines and "FN:brave-finch" in lines
    assert f"EMAIL;PREF=1:{SAM_ALIAS}" in lines and f"EMAIL;TYPE=home:{SAM_ALIAS}" in lines
    assert "NOTE:Ask brave-finch about the robotics club" in lines
    assert "TEL;TYPE=cell;VALUE=TEXT:+1 555 0100" in lines


@pytest.mark.parametrize("ctype", ["text/calendar", "application/ics"])
def test_calendar_invite_is_scrubbed(ctype: str) -> None:
    msg = email.message_from_bytes(masked("calendar_invite.eml"), policy=email.policy.default)
    part = next(p for p in msg.walk() if p.get_content_type() == ctype)
    unfolded = part.get_payload(decode=True).decode().replace("\r\n ", "")
    assert f"ORGANIZER;CN=kind-otter:mailto:{JANE_ALIAS}" in unfolded
    assert f';CN="kind-otter";X-NUM-GUESTS=0:mailto:{JANE_ALIAS}' in unfolded
    assert f"DESCRIPTION:Weekly check-in. Questions? Write to {JANE_ALIAS}." in unfolded
    if ctype == "text/calendar":
        assert part.get_param("method") == "REQUEST"


def test_attached_message_is_rebuilt_from_the_allowlist() -> None:
    msg = email.message_from_bytes(masked("forwarded_attachment.eml"), policy=email.policy.default)
    attached = next(p for p in msg.walk() if p.get_content_type() == "message/rfc822")
    inner = attached.get_payload(0)
    assert set(inner.keys()) == {"From", "To", "Cc", "Date", "Subject", "MIME-Version", "Content-Type"}
    assert inner["From"] == f'"kind-otter" <{JANE_ALIAS}>' or inner["From"] == f"kind-otter <{JANE_ALIAS}>"
    assert inner["To"].addresses[0].addr_spec == SAM_ALIAS
    assert inner["Subject"] == "Before the program starts"
    plain = inner.get_body(("plain",)).get_content()
    assert f"write to me at {JANE_ALIAS} anytime. — kind-otter" in plain
    assert attached.get_filename() == "Before the program starts.eml"


def test_inline_image_keeps_working_under_a_new_content_id() -> None:
    msg = email.message_from_bytes(masked("apple_mail_related.eml"), policy=email.policy.default)
    image = next(p for p in msg.walk() if p.get_content_type() == "image/png")
    html = msg.get_body(("html",)).get_content()
    cid = image["Content-ID"].strip("<>")
    assert cid.endswith("@mentor.example.org") and f'src="cid:{cid}"' in html
    original = (MAIL / "apple_mail_related.eml").read_bytes()
    assert image.get_payload(decode=True) in original or image.get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.get_filename() == "volcano.png"


def test_remote_images_become_alt_text_only_when_asked() -> None:
    kept = masked("apple_mail_related.eml")
    assert b"images.example.com" in kept
    stripped = masked("apple_mail_related.eml", replace(CTX, strip_remote_images=True))
    html = email.message_from_bytes(stripped, policy=email.policy.default).get_body(("html",)).get_content()
    assert "images.example.com" not in html and "<div>Jane's logo</div>" in html
    assert "cid:" in html  # inline images stay


def test_binary_attachment_passes_through_unchanged() -> None:
    source = email.message_from_bytes((MAIL / "apple_mail_related.eml").read_bytes())
    original = next(p for p in source.walk() if p.get_content_type() == "image/png").get_payload(decode=True)
    copy = email.message_from_bytes(masked("apple_mail_related.eml"), policy=email.policy.default)
    assert next(p for p in copy.walk() if p.get_content_type() == "image/png").get_content() == original


def test_sender_client_boundaries_and_preamble_are_gone() -> None:
    raw = masked("thunderbird_vcard.eml")
    assert b"Zx8Yw7Vu6Ts5Rq4Po3Nm2Lk1" not in raw and b"multi-part message" not in raw
    assert b"Apple-Mail" not in masked("apple_mail_related.eml")


def test_same_input_same_copy() -> None:
    assert masked("outlook_reply.eml") == masked("outlook_reply.eml")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\r\n\r\n",
        b"Subject: only headers",
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n",
        b"Content-Type: text/plain; charset=rot13\r\n\r\nsam.rivera@example.net",
        b"Content-Type: text/plain; charset=utf-7\r\n\r\nsam.rivera+AEA-example.net",
        b"Content-Type: message/rfc822\r\n\r\nFrom: Sam Rivera <sam.rivera@example.net>\r\n",
        b"Content-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64 c2Ft\r\n",
        b"Subject: \xff\xfe\x00 sam.rivera@example.net\r\n\r\nbody",
    ],
)
def test_broken_input_still_gives_a_clean_copy(raw: bytes) -> None:
    out = build_masked_copy(raw, CTX)
    assert out.isascii() and out.startswith(b"From: ")
    parsed = email.message_from_bytes(out, policy=email.policy.default)
    assert parsed["Message-ID"] == CTX.message_id
    assert SAM not in out.decode().lower() and SAM not in "\n".join(decoded_texts(out)).lower()


@pytest.mark.parametrize(
    "value, expected",
    [
        ("=?utf-8?q?Hello=0D=0ABcc:_x@example.org?=", "Hello Bcc: x@example.org"),
        ("=?utf-8?b?YQBiDWMKZA==?=", "ab c d"),  # NUL removed, CR and LF become spaces
        ("=?iso-8859-1?q?caf=E9?= =?x-unknown?q?na=EFve?=", "café naïve"),
        ("Re:\r\n\t spaced   out\u2028line", "Re: spaced out line"),
        ("caf\udcc3\udca9 raw 8-bit", "café raw 8-bit"),
        ("=?utf-8?b?not base64!?=", "=?utf-8?b?not base64!?="),
    ],
)
def test_safe_header_value(value: str, expected: str) -> None:
    assert safe_header_value(value) == expected


@pytest.mark.parametrize(
    "display, address, expected",
    [
        ("kind-otter", "kind-otter-7q2x9k@mentor.example.org", '"kind-otter" <kind-otter-7q2x9k@mentor.example.org>'),
        ('say "hi"\r\nBcc: x', "a@b.example", '"say \\"hi\\" Bcc: x" <a@b.example>'),
        ("Zoë", "a@b.example", "=?utf-8?q?Zo=C3=AB?= <a@b.example>"),
        ("", "a@b.example", "<a@b.example>"),
        ("x", "a@b.example>\r\nBcc: <c@d.example", '"x" <a@b.exampleBccc@d.example>'),
    ],
)
def test_format_address(display: str, address: str, expected: str) -> None:
    assert format_address(display, address) == expected


def test_header_line_folds_and_encodes() -> None:
    line = header_line("Subject", "Grüße " * 40, unstructured=True)
    assert line.isascii() and line.endswith("\r\n")
    assert all(len(part) <= 78 for part in line.split("\r\n"))
    assert email.message_from_string(line + "\r\n", policy=email.policy.default)["Subject"] == ("Grüße " * 40).strip()
    long_word = header_line("X-Token", "a" * 3000)
    assert max(len(part) for part in long_word.split("\r\n")) <= 998


def test_naive_date_is_taken_as_utc() -> None:
    raw = masked("gmail_reply.eml", replace(CTX, date=datetime(2026, 3, 3, 9, 0)))
    assert b"\r\nDate: Tue, 03 Mar 2026 09:00:00 +0000\r\n" in raw
