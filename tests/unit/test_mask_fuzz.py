"""Generated and mangled messages: the masked copy never fails and never leaks."""

from __future__ import annotations

import base64
import email
import email.policy
import html
import quopri
import re
from datetime import datetime, timezone
from urllib.parse import unquote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relay.model import MaskContext
from relay.outbound.rewrite import build_masked_copy

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
READER = "reader@recipient.example"

local_parts = st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,10}[a-z0-9]", fullmatch=True)
domains = st.sampled_from(["example.com", "example.net", "school.example.edu", "mail.example.org"])
addresses = st.builds(lambda local, domain: f"{local}@{domain}", local_parts, domains)
participants = st.lists(addresses, min_size=1, max_size=4, unique=True)


def spell(address: str, form: int, upper: list[bool]) -> str:
    """One of the ways clients and web pages write an address."""
    mixed = "".join(c.upper() if u else c for c, u in zip(address, upper + [False] * len(address)))
    local, _, domain = address.partition("@")
    forms = [
        address,
        address.upper(),
        mixed,
        f"<{mixed}>",
        f"mailto:{address}",
        f"{local}%40{domain}",
        "".join(f"%{ord(c):02X}" for c in address),
        f"{local}&#64;{domain}",
        f"{local}&#x40;{domain}",
        f"{local}&#064{domain}",
        "".join(f"&#{ord(c)};" for c in address),
        f"On Tue, 3 Mar 2026, Jane Doe <{address}> wrote:",
        f"From: Jane Doe [mailto:{address}]\nSent: Tuesday\nTo: {mixed}",
        f'<a href="mailto:{local}%40{domain}">{address}</a>',
    ]
    return forms[form % len(forms)]


@st.composite
def texts(draw: st.DrawFn, reals: list[str]) -> str:
    chunks = draw(
        st.lists(
            st.one_of(
                st.text(max_size=30),
                st.builds(spell, st.sampled_from(reals), st.integers(0, 20), st.lists(st.booleans(), max_size=30)),
            ),
            max_size=6,
        )
    )
    return draw(st.sampled_from([" ", "\n", "", "\r\n"])).join(chunks)


def encode_body(text: str, cte: str, charset: str) -> tuple[str, bytes]:
    data = text.encode(charset if charset in ("utf-8", "latin-1") else "utf-8", "replace")
    if cte == "base64":
        return cte, base64.encodebytes(data)
    if cte == "quoted-printable":
        encoded = quopri.encodestring(data)
        # soft line breaks in the middle of anything, addresses included
        return cte, re.sub(rb"([^=\r\n]{7})(?=[^=\r\n])", rb"\1=\n", encoded)
    return "8bit", data


def encode_header(value: str, how: int) -> str:
    raw = value.encode("utf-8")
    words = [
        value.replace("\r", " ").replace("\n", " "),
        f"=?utf-8?b?{base64.b64encode(raw).decode()}?=",
        f"=?utf-8?q?{quopri.encodestring(raw, header=True).decode().replace(chr(10), '')}?=",
        f"=?x-bogus?q?{quopri.encodestring(raw, header=True).decode().replace(chr(10), '')}?=",
    ]
    inner = words[how % len(words)]
    if how >= 4:  # an encoded word inside an encoded word
        inner = f"=?utf-8?b?{base64.b64encode(inner.encode()).decode()}?="
    return inner


@st.composite
def headers(draw: st.DrawFn, reals: list[str]) -> bytes:
    names = ["Subject", "From", "To", "Cc", "Reply-To", "Received", "X-Mailer", "Sender", "Date", "X-Junk"]
    lines = []
    for name in draw(st.lists(st.sampled_from(names), max_size=6)):
        value = encode_header(draw(texts(reals)), draw(st.integers(0, 7)))
        lines.append(f"{name}: {value}".encode("utf-8", "surrogateescape"))
    return b"\r\n".join(lines) + b"\r\n"


LEAF_TYPES = ["text/plain", "text/html", "text/vcard", "text/calendar", "text/csv", "application/octet-stream"]


@st.composite
def parts(draw: st.DrawFn, reals: list[str], depth: int = 0) -> bytes:
    kind = draw(st.integers(0, 9 if depth < 3 else 5))
    if kind >= 8:  # multipart, sometimes without its boundary
        boundary = f"b{depth}x{draw(st.integers(0, 99))}"
        children = draw(st.lists(parts(reals, depth + 1), min_size=0, max_size=3))
        subtype = draw(st.sampled_from(["mixed", "alternative", "related", "signed"]))
        param = f'; boundary="{boundary}"' if draw(st.booleans()) else ""
        body = b"".join(b"--" + boundary.encode() + b"\r\n" + child + b"\r\n" for child in children)
        return f"Content-Type: multipart/{subtype}{param}\r\n\r\n".encode() + body + f"--{boundary}--\r\n".encode()
    if kind == 7:  # an attached message
        inner = draw(headers(reals)) + draw(parts(reals, depth + 1))
        return b"Content-Type: message/rfc822\r\n\r\n" + inner
    ctype = draw(st.sampled_from(LEAF_TYPES))
    charset = draw(st.sampled_from(["utf-8", "latin-1", "x-unknown", "utf-7"]))
    cte, body = encode_body(draw(texts(reals)), draw(st.sampled_from(["base64", "quoted-printable", "8bit"])), charset)
    filename = spell(draw(st.sampled_from(reals)), draw(st.integers(0, 10)), [])
    head = f'Content-Type: {ctype}; charset="{charset}"\r\nContent-Transfer-Encoding: {cte}\r\n'
    if draw(st.booleans()):
        head += f'Content-Disposition: attachment; filename="{encode_header(filename, draw(st.integers(0, 5)))}"\r\n'
    if draw(st.booleans()):
        head += f"Content-ID: <{filename}>\r\nContent-Description: {filename}\r\n"
    return head.encode("utf-8", "replace") + b"\r\n" + body


@st.composite
def messages(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    reals = draw(participants)
    raw = draw(headers(reals)) + b"MIME-Version: 1.0\r\n" + draw(parts(reals))
    for _ in range(draw(st.integers(0, 3))):  # mangle: cut, insert noise, or drop a slice
        at = draw(st.integers(0, len(raw)))
        action = draw(st.integers(0, 2))
        if action == 0:
            raw = raw[: max(at, len(raw) // 2)]
        elif action == 1:
            raw = raw[:at] + draw(st.binary(max_size=12)) + raw[at:]
        else:
            raw = raw[:at] + raw[at + draw(st.integers(1, 20)) :]
    return raw, reals


def context(reals: list[str], strip: bool) -> MaskContext:
    return MaskContext(
        domain="mentor.example.org",
        sender_handle="brave-finch",
        sender_alias="brave-finch-3k8m1p@mentor.example.org",
        recipient_email=READER,
        recipient_handle="kind-otter",
        message_id="<0123456789abcdef01234567@mentor.example.org>",
        date=datetime(2026, 3, 3, 10, 0, tzinfo=timezone.utc),
        address_map={real: f"alias-{i}-7q2x9k@mentor.example.org" for i, real in enumerate(reals)},
        name_map={"Jane Doe": "kind-otter"},
        strip_remote_images=strip,
    )


def visible_texts(out: bytes) -> list[str]:
    """The copy as bytes, plus every decoded header and text the reader's client shows."""
    seen = [out.decode("ascii")]
    for part in email.message_from_bytes(out, policy=email.policy.default).walk():
        seen.extend(str(value) for value in part.values())
        if part.get_content_maintype() == "text" or part.get_content_type() == "application/ics":
            seen.append(part.get_payload(decode=True).decode("utf-8"))
        if part.get_filename():
            seen.append(part.get_filename())
    return seen


def assert_no_leak(out: bytes, reals: list[str]) -> None:
    for seen in visible_texts(out):
        for form in (seen, unquote(seen), html.unescape(seen), html.unescape(unquote(seen))):
            lowered = form.lower()
            for real in reals:
                assert real not in lowered, (real, form)


def assert_well_formed(out: bytes) -> None:
    assert out.isascii()
    lines = out.split(b"\r\n")
    assert all(b"\r" not in line and b"\n" not in line for line in lines)
    assert max(len(line) for line in lines) <= 998
    parsed = email.message_from_bytes(out, policy=email.policy.default)
    assert parsed["From"] == '"brave-finch" <brave-finch-3k8m1p@mentor.example.org>' or parsed["From"].addresses
    assert parsed["To"].addresses[0].addr_spec == READER
    assert parsed["Message-ID"] == "<0123456789abcdef01234567@mentor.example.org>"
    assert len(parsed.get_all("Subject") or []) <= 1
    assert parsed["Bcc"] is None and parsed["Cc"] is None and parsed["Received"] is None


@SETTINGS
@given(messages(), st.booleans())
def test_generated_messages(message: tuple[bytes, list[str]], strip: bool) -> None:
    raw, reals = message
    out = build_masked_copy(raw, context(reals, strip))
    assert_well_formed(out)
    assert_no_leak(out, reals)


@SETTINGS
@given(st.binary(max_size=600), participants)
def test_random_bytes(raw: bytes, reals: list[str]) -> None:
    out = build_masked_copy(raw, context(reals, False))
    assert_well_formed(out)
    assert_no_leak(out, reals)
