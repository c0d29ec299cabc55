"""Reading raw messages: decoded fields, parts, and every problem recorded instead of raised."""

from __future__ import annotations

import email.policy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relay.intake.parse import html_to_text, inspect, simple_mailbox
from relay.model import Attachment


def msg(headers: str, body: str = "Hello\r\n") -> bytes:
    head = headers.strip("\n").replace("\n", "\r\n")
    return (head + "\r\n\r\n" + body.replace("\r\n", "\n").replace("\n", "\r\n")).encode("utf-8")


BASIC = """\
From: =?utf-8?q?Ren=C3=A9e_M=C3=BCller?= <Renee.Muller@Example.org>
To: kind-otter-7q2x9k@mentor.example.org
Subject: =?iso-8859-1?q?Caf=E9_on_Friday?= and =?utf-8?b?8J+Mnw==?=
Date: Mon, 01 Dec 2025 10:00:00 +0000
Message-ID: <CAF+abc123@mail.gmail.com>
In-Reply-To: <relay-1@mentor.example.org>
References: <relay-0@mentor.example.org>
 <relay-1@mentor.example.org>
Auto-Submitted: auto-replied; by=vacation
"""


def test_basic_headers_are_decoded() -> None:
    result = inspect(msg(BASIC))
    assert result.subject == "Café on Friday and 🌟"
    assert result.from_address == "renee.muller@example.org"
    assert result.from_name == "Renée Müller"
    assert result.message_id == "<CAF+abc123@mail.gmail.com>"
    assert result.in_reply_to == ("<relay-1@mentor.example.org>",)
    assert result.references == ("<relay-0@mentor.example.org>", "<relay-1@mentor.example.org>")
    assert result.auto_submitted == "auto-replied"
    assert result.texts == ("Hello\r\n",)
    assert result.problems == ()
    assert result.size == len(msg(BASIC))


@pytest.mark.parametrize(
    "header,expected",
    [("Auto-Submitted: no", ""), ("Auto-Submitted: Auto-Generated", "auto-generated"), ("X-Other: 1", "")],
)
def test_auto_submitted(header: str, expected: str) -> None:
    assert inspect(msg(f"From: a@example.org\n{header}")).auto_submitted == expected


def test_utf8_raw_headers_are_read_as_utf8() -> None:
    raw = "From: Zoë <zoe@example.org>\r\nSubject: Grüße\r\n\r\nHi\r\n".encode()
    result = inspect(raw)
    assert (result.subject, result.from_name) == ("Grüße", "Zoë")


def test_encoded_comma_cannot_split_the_from_display_name() -> None:
    raw = msg("From: =?utf-8?q?Evil=2C_Bob_=3Cbob=40other=2Eorg=3E?= <alice@example.org>")
    result = inspect(raw)
    assert result.from_address == "alice@example.org"
    assert result.from_name == "Evil, Bob <bob@other.org>"


MULTIPART = """\
From: a@example.org
Subject: parts
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"
""", """\
--outer
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

Caf=E9 at 5?
--alt
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: base64

PHA+Q2Fmw6kgYXQgNT88L3A+
--alt--
--outer
Content-Type: image/png; name="photo.png"
Content-Disposition: attachment; filename="=?utf-8?q?f=C3=B6to.png?="
Content-Transfer-Encoding: base64

iVBORw0KGgoAAAANSUhEUg==
--outer
Content-Type: text/plain; charset=utf-8
Content-Disposition: attachment; filename="notes.txt"

call me on 555 0100
--outer--
"""


def test_parts_texts_htmls_and_attachments() -> None:
    result = inspect(msg(*MULTIPART))
    assert result.texts == ("Café at 5?",)
    assert result.htmls == ("<p>Café at 5?</p>",)
    assert result.attachments == (
        Attachment("föto.png", "image/png", 16),
        Attachment("notes.txt", "text/plain", len(b"call me on 555 0100")),
    )
    assert result.problems == ()
    assert not result.encrypted and not result.signed


@pytest.mark.parametrize(
    "content_type,body,problem",
    [
        ('text/plain; charset="x-klingon"', "Qapla'", "unknown charset x-klingon"),
        ('text/plain; charset="base64"', "aGk=", "unknown charset base64"),  # not a text codec
        ("text/plain; charset=utf-8", "caf\udce9", "text is not valid utf-8"),
    ],
)
def test_charset_problems_are_recorded_and_text_still_decoded(
    content_type: str, body: str, problem: str
) -> None:
    raw = msg(f"From: a@example.org\nContent-Type: {content_type}", "BODY").replace(
        b"BODY", body.encode("utf-8", "surrogateescape")
    )
    result = inspect(raw)
    assert problem in result.problems
    assert len(result.texts) == 1 and result.texts[0]


@pytest.mark.parametrize(
    "headers,body,encrypted,signed",
    [
        ('Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary=b',
         "--b\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n--b\n"
         "Content-Type: application/octet-stream\n\n-----BEGIN PGP MESSAGE-----\nhQ\n--b--\n", True, False),
        ('Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"',
         "MIAGCSqGSIb3DQEHA6CAMIACAQAx\n", True, False),
        ("Content-Type: text/plain", "-----BEGIN PGP MESSAGE-----\nhQEMA\n-----END PGP MESSAGE-----\n", True, False),
        ('Content-Type: multipart/signed; protocol="application/pkcs7-signature"; boundary=s',
         "--s\nContent-Type: text/plain\n\nhello\n--s\nContent-Type: application/pkcs7-signature\n\nMIIG\n--s--\n",
         False, True),
        ("Content-Type: text/plain", "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nhi\n", False, True),
        ("Content-Type: text/plain", "my key:\n-----BEGIN PGP PUBLIC KEY BLOCK-----\nmQIN\n", False, True),
        ("Content-Type: text/plain", "nothing to see\n", False, False),
    ],
)  # fmt: skip
def test_encrypted_and_signed_detection(headers: str, body: str, encrypted: bool, signed: bool) -> None:
    result = inspect(msg(f"From: a@example.org\nMIME-Version: 1.0\n{headers}", body))
    assert (result.encrypted, result.signed) == (encrypted, signed)


@pytest.mark.parametrize(
    "headers,body,problem",
    [
        ("Content-Type: multipart/mixed", "no boundary at all\n", "MIME defect: NoBoundaryInMultipartDefect"),
        ("Content-Type: multipart/mixed; boundary=zz", "--zz\nContent-Type: text/plain\n\nhi\n",
         "MIME defect: CloseBoundaryNotFoundDefect"),
        ("Content-Type: multipart/mixed; boundary=zz", "no start boundary here\n",
         "MIME defect: StartBoundaryNotFoundDefect"),
        ("Subject: =?utf-8?q?Hi=0D=0ABcc:_x@evil.org?=", "", "Subject header decodes to CR, LF or NUL"),
        ("Subject: =?utf-8?b?SGkAdGhlcmU=?=", "", "Subject header decodes to CR, LF or NUL"),
        ("Subject: =?x-unknown?q?abc?=", "", "Subject header could not be decoded (x-unknown charset)"),
    ],
)  # fmt: skip
def test_structural_problems_are_recorded(headers: str, body: str, problem: str) -> None:
    result = inspect(msg(f"From: a@example.org\nMIME-Version: 1.0\n{headers}", body))
    assert problem in result.problems, result.problems


def test_control_characters_are_removed_from_the_subject() -> None:
    result = inspect(msg("From: a@example.org\nSubject: =?utf-8?q?Hi=0D=0ABcc:_x@evil.org?="))
    assert "\n" not in result.subject and "\r" not in result.subject
    assert result.subject == "Hi Bcc: x@evil.org"


def nested(depth: int) -> bytes:
    body = "Content-Type: text/plain\n\ndeep text\n"
    for level in range(depth):
        body = (
            f'Content-Type: multipart/mixed; boundary="b{level}"\n\n'
            f"--b{level}\n{body}--b{level}--\n"
        )
    return msg("From: a@example.org\nMIME-Version: 1.0\nSubject: deep\n" + body.split("\n\n", 1)[0], body.split("\n\n", 1)[1])


@pytest.mark.parametrize(
    "depth,limit,too_deep",
    [(3, 20, False), (20, 20, False), (21, 20, True), (5, 3, True)],
)
def test_nesting_limit(depth: int, limit: int, too_deep: bool) -> None:
    result = inspect(nested(depth), max_depth=limit)
    assert (f"MIME nesting deeper than {limit} levels" in result.problems) is too_deep
    assert (result.texts == ()) is too_deep


def test_absurd_nesting_does_not_raise() -> None:
    result = inspect(nested(3000))
    assert result.subject == "deep"
    assert "MIME nesting deeper than 20 levels" in result.problems


def test_forwarded_message_is_an_attachment_and_its_text_is_read() -> None:
    raw = msg(
        "From: a@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=f",
        "--f\nContent-Type: text/plain\n\nsee below\n--f\nContent-Type: message/rfc822\n\n"
        "From: someone@elsewhere.org\nSubject: inner\n\ninner text\n--f--\n",
    )
    result = inspect(raw)
    assert result.texts == ("see below", "inner text")
    assert [a.content_type for a in result.attachments] == ["message/rfc822"]


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x00\xff\xfe garbage", b"From:\r\n\r\n", b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n",
     b"From: <@>\r\nSubject: =?utf-8?b?!!!?=\r\n\r\n", b"From: a\r\n\tb@\r\n c\r\n\r\n" * 50],
)  # fmt: skip
def test_inspect_never_raises(raw: bytes) -> None:
    result = inspect(raw)
    assert result.size == len(raw)


@pytest.mark.parametrize(
    "headers,expected",
    [
        ("From: a@example.org\nSubject: hi\nTo: b@example.org", ()),
        ("From: a@example.org\nFrom: b@example.org", ("duplicate From header",)),
        ("From: a@example.org\nSubject: one\nsubject: two", ("duplicate Subject header",)),
        ("From: a@example.org\nTo: x@example.org\nTo: y@example.org", ("duplicate To header",)),
        ("From: a@example.org\nCc: x@example.org\nCC: y@example.org", ("duplicate Cc header",)),
        ("From: a@example.org\nDate: Mon, 1 Dec 2025 10:00:00 +0000\nDate: Tue, 2 Dec 2025 10:00:00 +0000",
         ("duplicate Date header",)),
        ("From: a@example.org\nMessage-ID: <1@x>\nMessage-Id: <2@x>", ("duplicate Message-ID header",)),
        ("From: a@example.org, b@example.org", ("From header has 2 mailboxes",)),
        ("Subject: no sender", ("From header missing",)),
        ("From: undisclosed-recipients:;", ("From header has no address",)),
        ("From: a@example.org\nSubject: =?utf-8?q?Hi=0ABcc:_x@evil.org?=", ("Subject header decodes to CR, LF or NUL",)),
        ("From: =?utf-8?b?QQpC?= <a@example.org>", ("From header decodes to CR, LF or NUL",)),
        ("From: a@example.org\nX-Custom: =?utf-8?q?a=00b?=", ("X-Custom header decodes to CR, LF or NUL",)),
    ],
)  # fmt: skip
def test_header_problems(headers: str, expected: tuple[str, ...]) -> None:
    assert inspect(msg(headers)).header_problems == expected


@pytest.mark.parametrize(
    "html,expected",
    [
        ("<p>Approve</p><p>Thanks</p>", "Approve\nThanks"),
        ("<div>one<br>two</div>", "one\ntwo"),
        ("<html><head><style>p{color:red}</style><title>t</title></head><body>Hi&nbsp;there &amp; you</body></html>",
         "Hi there & you"),
        ("<div>reply</div><blockquote><div>quoted</div><blockquote>deeper</blockquote></blockquote>",
         "reply\n> quoted\n> > deeper"),
        ("<div>above</div><hr><div>From: x</div>", "above\n" + "_" * 32 + "\nFrom: x"),
        ("<p>unclosed <b>bold", "unclosed bold"),
    ],
)  # fmt: skip
def test_html_to_text(html: str, expected: str) -> None:
    assert html_to_text(html) == expected


SAMPLE = msg(*MULTIPART) + msg(BASIC)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_inspect_and_header_problems_never_raise_on_mangled_mail(data: st.DataObject) -> None:
    raw = bytearray(SAMPLE)
    for _ in range(data.draw(st.integers(1, 8))):
        index = data.draw(st.integers(0, len(raw) - 1))
        raw[index : index + data.draw(st.integers(0, 4))] = data.draw(st.binary(max_size=6))
    result = inspect(bytes(raw))
    assert result.size == len(raw)
    assert isinstance(inspect(bytes(raw)).header_problems, tuple)


# The From header's plainest forms are read without the header registry; whenever that
# shortcut answers, it must say exactly what the registry says, with no defect.
_FROM_PIECES = [
    '"', "\\", "<", ">", "@", ",", ";", ":", ".", " ", "\t", "(", ")", "[", "]", "'", "!", "#", "-", "_",
    "=?utf-8?q?a=2Cb?=", "=?", "?=", "Jo", "Kim", "x.org", "a", "b", "\udce9", "jo@x.org", "<a@b>", '"Jo Kim"',
]  # fmt: skip


def _registry_mailboxes(value: str) -> tuple[list[tuple[str, str]], bool]:
    header = email.policy.default.header_factory("From", value)
    return [(a.display_name, a.addr_spec) for a in header.addresses], not header.defects


@pytest.mark.parametrize(
    "value,expected",
    [
        ('"Jo Kim" <jo.kim@school.example.net>', ("Jo Kim", "jo.kim@school.example.net")),
        ("Jo   Kim <jo@example.org>", ("Jo Kim", "jo@example.org")),
        ('"Jo  Kim"<jo@example.org> ', ("Jo  Kim", "jo@example.org")),
        (" jo@example.org", ("", "jo@example.org")),
        ("<jo@example.org>", ("", "jo@example.org")),
        ("=?utf-8?q?Jo?= <jo@example.org>", None),  # encoded word
        ("Jo K. Kim <jo@example.org>", None),  # obsolete phrase
        ("jo@example.org (Jo)", None),  # comment
        ("a@example.org, b@example.org", None),
        ('"Jo \\" Kim" <jo@example.org>', None),  # escape
        ("jo..kim@example.org", None),
        ("friends: jo@example.org;", None),
    ],
)  # fmt: skip
def test_simple_mailbox_forms(value: str, expected: tuple[str, str] | None) -> None:
    assert simple_mailbox(value) == expected
    if expected is not None:
        assert _registry_mailboxes(value) == ([expected], True)


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(_FROM_PIECES), max_size=12))
def test_simple_mailbox_agrees_with_the_header_registry(pieces: list[str]) -> None:
    value = "".join(pieces)
    simple = simple_mailbox(value)
    if simple is not None:
        assert _registry_mailboxes(value) == ([simple], True)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_FROM_PIECES), min_size=1, max_size=12))
def test_from_fields_are_read_the_same_on_either_path(pieces: list[str]) -> None:
    value = "".join(pieces)
    result = inspect(f"From: {value}\r\nSubject: hi\r\n\r\nHello\r\n".encode("utf-8", "surrogateescape"))
    simple = simple_mailbox(value.strip())
    if simple is not None:
        assert (result.from_name, result.from_address) == (simple[0], simple[1].lower())
        assert "From header could not be parsed cleanly" not in result.problems
        assert not any(p.startswith("From header") for p in result.header_problems)
